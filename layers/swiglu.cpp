// SwiGLU MLP.
#include "layers/swiglu.h"

#include "autograd/ops/elementwise.h"

namespace linea {

SwiGLU::SwiGLU(int64_t hidden, int64_t ffn_hidden, Device device, DType dtype) {
  gate_proj_ = register_module("gate_proj", std::make_shared<Linear>(hidden, ffn_hidden, false, device, dtype));
  up_proj_ = register_module("up_proj", std::make_shared<Linear>(hidden, ffn_hidden, false, device, dtype));
  down_proj_ = register_module("down_proj", std::make_shared<Linear>(ffn_hidden, hidden, false, device, dtype));
}

Variable SwiGLU::forward(const Variable& x) const {
  return down_proj_->forward(silu(gate_proj_->forward(x)) * up_proj_->forward(x));
}

}  // namespace linea
