// GeGLU feed-forward as MosaicBERT's BertGatedLinearUnitMLP: one fused input projection
// gated_layers (hidden -> 2 ffn_hidden, no bias) whose first half goes through exact (erf)
// GELU and gates the second half, dropout on the product, then wo (ffn_hidden -> hidden, bias).
#pragma once
#include "layers/token_mixer.h"

namespace linea {

class GeGLU : public ChannelMixer {
 public:
  GeGLU(int64_t hidden, int64_t ffn_hidden, double dropout, Device device = Device::cpu(), DType dtype = DType::f32);
  Variable forward(const Variable& x) const override;
  double flops_per_token() const override;
  std::vector<const Linear*> output_projections() const override { return {wo_.get()}; }

  const Linear& gated_layers() const { return *gated_layers_; }
  const Linear& wo() const { return *wo_; }

 private:
  Child<Linear> gated_layers_, wo_;
  int64_t ffn_hidden_;
  double dropout_;
};

}  // namespace linea
