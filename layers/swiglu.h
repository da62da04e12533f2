// SwiGLU MLP (Llama): down_proj(silu(gate_proj(x)) * up_proj(x)), no biases.
#pragma once
#include "layers/linear.h"

namespace linea {

class SwiGLU : public Module {
 public:
  SwiGLU(int64_t hidden, int64_t ffn_hidden, Device device = Device::cpu(), DType dtype = DType::f32);
  Variable forward(const Variable& x) const;  // x [..., hidden] -> [..., hidden]

  const Linear& gate_proj() const { return *gate_proj_; }
  const Linear& up_proj() const { return *up_proj_; }
  const Linear& down_proj() const { return *down_proj_; }

 private:
  Child<Linear> gate_proj_, up_proj_, down_proj_;
};

}  // namespace linea
