// ShortConv: the short causal depthwise convolution layer (fla's ShortConvolution, Kimi's
// q/k/v_conv1d), weight [channels, taps] named "weight"; no bias. Init U(±1/sqrt(taps)),
// PyTorch Conv1d's default for a depthwise conv (fan-in = taps).
#pragma once
#include "autograd/ops/short_conv.h"
#include "layers/module.h"

namespace linea {

class ShortConv : public Module {
 public:
  ShortConv(int64_t channels, int64_t taps, Device device, DType dtype);
  // x [B, T, C] -> [B, T, C], sequences as `segments` say. With `state` (decoding): the conv
  // starts from *state when it is defined ([N, C, taps - 1]) and *state becomes the final one.
  Variable forward(const Variable& x, const kernels::AttentionSegments& segments, Tensor* state = nullptr) const;
  void init_own_parameters(Generator& gen) override;
  const Variable& weight() const { return weight_; }

 private:
  int64_t taps_;
  Variable weight_;
};

}  // namespace linea
