#include "core/kernels/elementwise.h"
#include "optim/optimizer.h"

namespace linea {

namespace {
Tensor scaled(const Tensor& x, double a) { return kernels::unary_fwd(UnaryOp::affine, x, a, 0.0); }
Tensor add(const Tensor& a, const Tensor& b) { return kernels::binary_fwd(BinaryOp::add, a, b); }
}  // namespace

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions options, OwnedSlices owned)
    : Optimizer(std::move(groups), Sharding::elementwise, std::move(owned)), options_(options) {
  LINEA_CHECK_T(Error, options.momentum >= 0, "SGD: momentum must be >= 0, got ", options.momentum);
  LINEA_CHECK_T(Error, !options.nesterov || options.momentum > 0, "SGD: nesterov requires momentum > 0");
  if (options.momentum > 0) add_state("momentum_buffer");
}

void SGD::update(Slot& slot, const Tensor& grad, double lr, int64_t) {
  Tensor w = slot.weights();
  Tensor d = grad.to(w.dtype());
  if (slot.weight_decay != 0) d = add(d, scaled(w, slot.weight_decay));
  if (options_.momentum > 0) {
    Tensor& buf = slot.state.at("momentum_buffer");
    buf.copy_(add(scaled(buf, options_.momentum), d));
    d = options_.nesterov ? add(d, scaled(buf, options_.momentum)) : buf;
  }
  w.copy_(add(w, scaled(d, -lr)));
  Tensor value = slot.value();
  if (!w.shares_storage(value)) value.copy_(w);
}

}  // namespace linea
