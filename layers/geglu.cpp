// GeGLU feed-forward.
#include "layers/geglu.h"

#include "autograd/ops/dropout.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/views.h"
#include "core/rng.h"

namespace linea {

GeGLU::GeGLU(int64_t hidden, int64_t ffn_hidden, double dropout, Device device, DType dtype)
    : ffn_hidden_(ffn_hidden), dropout_(dropout) {
  gated_layers_ = register_module("gated_layers", std::make_shared<Linear>(hidden, 2 * ffn_hidden, false, device, dtype));
  wo_ = register_module("wo", std::make_shared<Linear>(ffn_hidden, hidden, true, device, dtype));
}

Variable GeGLU::forward(const Variable& x) const {
  Variable u = gated_layers_->forward(x);
  const int64_t last = u.dim() - 1;
  Variable product = gelu(narrow(u, last, 0, ffn_hidden_)) * narrow(u, last, ffn_hidden_, ffn_hidden_);
  return wo_->forward(dropout(product, dropout_, default_generator(), is_training()));
}

double GeGLU::flops_per_token() const {
  return 6.0 * double(gated_layers_->weight().numel() + wo_->weight().numel());
}

}  // namespace linea
