// Norm: the normalization layers a block can use (model.norm.kind): RMSNorm (Llama),
// LayerNorm with bias (BERT) and SimpleRMSNorm, RMSNorm without a weight (TransNormerLLM).
#pragma once
#include <memory>

#include "layers/model_config.h"
#include "layers/module.h"

namespace linea {

class Norm : public Module {
 public:
  virtual Variable forward(const Variable& x) const = 0;  // x [..., dim] -> [..., dim]
  // Sets the weights (and biases) to their initial 1 (and 0).
  virtual void reset_parameters() = 0;
};

// x / sqrt(mean(x^2) + eps): no parameters.
class SimpleRMSNorm : public Norm {
 public:
  explicit SimpleRMSNorm(double eps) : eps_(eps) {}
  Variable forward(const Variable& x) const override;
  void reset_parameters() override {}

 private:
  double eps_;
};

std::shared_ptr<Norm> make_norm(const NormConfig& n, int64_t dim, Device device, DType dtype);

}  // namespace linea
