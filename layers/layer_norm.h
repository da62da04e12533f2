// LayerNorm layer over the last dim: weight starts at 1, the optional bias at 0.
#pragma once
#include "layers/norm.h"

namespace linea {

class LayerNorm : public Norm {
 public:
  LayerNorm(int64_t dim, double eps = 1e-5, bool bias = true, Device device = Device::cpu(),
            DType dtype = DType::f32);
  Variable forward(const Variable& x) const override;  // x [..., dim] -> [..., dim]
  void reset_parameters() override;

  const Variable& weight() const { return weight_; }
  const Variable& bias() const { return bias_; }  // undefined without bias
  double eps() const { return eps_; }

 private:
  Variable weight_, bias_;
  double eps_;
};

}  // namespace linea
