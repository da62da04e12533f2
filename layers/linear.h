// Linear layer: y = x W^T + b with weight [out, in] (nn.Linear layout) and optional bias.
#pragma once
#include "layers/module.h"

namespace linea {

class Linear : public Module {
 public:
  // Weight zeros and bias zeros until initialized (Decoder::init_parameters or a loader).
  Linear(int64_t in_features, int64_t out_features, bool bias = true, Device device = Device::cpu(),
         DType dtype = DType::f32);
  Variable forward(const Variable& x) const;  // x [..., in] -> [..., out]

  const Variable& weight() const { return weight_; }
  const Variable& bias() const { return bias_; }  // undefined without bias

 private:
  Variable weight_, bias_;
};

}  // namespace linea
