// The gated linear unit family as a channel mixer, in Llama's layout:
// down_proj(dropout(act(gate_proj x) * up_proj x)), no biases unless asked. act = silu is Llama's SwiGLU,
// gelu(_tanh) GeGLU as Gemma's, none TransNormerLLM's SGLU; any other for TransNormer's GLU.
#pragma once
#include "layers/model_config.h"
#include "layers/token_mixer.h"

namespace linea {

// act(x) for the GLU family (Activation::none is the identity).
Variable activate(Activation act, const Variable& x);

class GLU : public ChannelMixer {
 public:
  // bias: all three projections get one (TransNormer v1's GLU); Llama's have none.
  GLU(int64_t hidden, int64_t ffn_hidden, Activation act, bool bias = false, double dropout = 0.0,
      Device device = Device::cpu(), DType dtype = DType::f32);
  Variable forward(const Variable& x) const override;
  double flops_per_token() const override;
  std::vector<const Linear*> output_projections() const override { return {down_proj_.get()}; }
  const Linear& gate_proj() const { return *gate_proj_; }
  const Linear& up_proj() const { return *up_proj_; }
  const Linear& down_proj() const { return *down_proj_; }

 private:
  Activation act_;
  double dropout_;
  Child<Linear> gate_proj_, up_proj_, down_proj_;
};

}  // namespace linea
