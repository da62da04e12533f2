// GLU channel mixer.
#include "layers/glu.h"

#include "autograd/ops/dropout.h"
#include "autograd/ops/elementwise.h"
#include "core/rng.h"

namespace linea {

Variable activate(Activation act, const Variable& x) {
  switch (act) {
    case Activation::none: return x;
    case Activation::silu: return silu(x);
    case Activation::gelu: return gelu(x);
    case Activation::gelu_tanh: return gelu(x, true);
    case Activation::relu: return relu(x);
    case Activation::sigmoid: return sigmoid(x);
    case Activation::elu: return elu(x);
    case Activation::elu_plus_one: return add_scalar(elu(x), 1.0);
  }
  LINEA_ASSERT(false, "activate: unknown activation ", int(act));
  return x;
}

GLU::GLU(int64_t hidden, int64_t ffn_hidden, Activation act, bool bias, double dropout, Device device, DType dtype)
    : act_(act), dropout_(dropout) {
  gate_proj_ = register_module("gate_proj", std::make_shared<Linear>(hidden, ffn_hidden, bias, device, dtype));
  up_proj_ = register_module("up_proj", std::make_shared<Linear>(hidden, ffn_hidden, bias, device, dtype));
  down_proj_ = register_module("down_proj", std::make_shared<Linear>(ffn_hidden, hidden, bias, device, dtype));
}

Variable GLU::forward(const Variable& x) const {
  Variable product = activate(act_, gate_proj_->forward(x)) * up_proj_->forward(x);
  if (dropout_ > 0) product = dropout(product, dropout_, default_generator(), is_training());
  return down_proj_->forward(product);
}

double GLU::flops_per_token() const {
  return 6.0 * 3.0 * double(gate_proj_->weight().numel());
}

}  // namespace linea
