// LoraLinear: a Linear with a low-rank update (LoRA, PEFT's layout; LoLCATs stage 2),
// y = x Wᵀ + b + (alpha / r) · dropout(x) Aᵀ Bᵀ, put in a Linear's place by
// Module::replace_module so the owning layer calls it. It keeps the original's weight and
// bias under the same names, and adds lora_A [r, in] (PEFT's kaiming-uniform init, bound
// 1 / sqrt(in)) and lora_B [out, r] (zeros, so the update starts at 0).
#pragma once
#include "core/rng.h"
#include "layers/linear.h"
#include "layers/model_config.h"

namespace linea {

class LoraLinear : public Linear {
 public:
  LoraLinear(const Linear& base, const LoraConfig& c);
  Variable forward(const Variable& x) const override;
  void reset_lora(Generator& gen);
  // W + (alpha / r) B A: the plain Linear this one computes (dropout aside), for export.
  Tensor merged_weight() const;

 private:
  double scaling_, dropout_;
  Variable lora_A_, lora_B_;
};

// Replaces every layer's token-mixer projections named in c.targets ("layers.N.self_attn.<t>")
// by LoraLinears. ConfigError naming model.lora.targets when a layer's mixer has no such
// Linear.
void attach_lora(Module& model, int64_t layers, const LoraConfig& c);

}  // namespace linea
