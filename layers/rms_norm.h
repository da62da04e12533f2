// RMSNorm layer: x / sqrt(mean(x^2) + eps) * weight over the last dim (weight starts at 1).
#pragma once
#include "layers/norm.h"

namespace linea {

class RMSNorm : public Norm {
 public:
  RMSNorm(int64_t dim, double eps = 1e-5, Device device = Device::cpu(), DType dtype = DType::f32);
  Variable forward(const Variable& x) const override;  // x [..., dim] -> [..., dim]
  void reset_parameters() override;

  const Variable& weight() const { return weight_; }
  double eps() const { return eps_; }

 private:
  Variable weight_;
  double eps_;
};

}  // namespace linea
