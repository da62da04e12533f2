// Linear layer: y = x W^T + b with weight [out, in] (nn.Linear layout) and optional bias.
// forward is virtual so a subclass put in a Linear's place (Module::replace_module; LoRA
// adds a low-rank update to the frozen weight) is what the owning layer calls.
#pragma once
#include "layers/module.h"

namespace linea {

class Linear : public Module {
 public:
  // Weight zeros and bias zeros until initialized (Decoder::init_parameters or a loader).
  Linear(int64_t in_features, int64_t out_features, bool bias = true, Device device = Device::cpu(),
         DType dtype = DType::f32);
  virtual Variable forward(const Variable& x) const;  // x [..., in] -> [..., out]

  const Variable& weight() const { return weight_; }
  const Variable& bias() const { return bias_; }  // undefined without bias

 protected:
  // A Linear over an existing layer's weight and bias (a wrapper replacing that layer), each
  // keeping its requires_grad, registered as "weight" and "bias" like the original's.
  Linear(const Variable& weight, const Variable& bias);

 private:
  Variable weight_, bias_;
};

}  // namespace linea
