// LayerNorm layer.
#include "layers/layer_norm.h"

#include "autograd/ops/layer_norm.h"

namespace linea {

LayerNorm::LayerNorm(int64_t dim, double eps, bool bias, Device device, DType dtype) : eps_(eps) {
  weight_ = register_parameter("weight", Variable(Tensor::ones({dim}, dtype, device)));
  if (bias) bias_ = register_parameter("bias", Variable(Tensor::zeros({dim}, dtype, device)));
}

void LayerNorm::reset_parameters() {
  Tensor(weight_.data()).fill_(1.0);
  if (bias_.defined()) Tensor(bias_.data()).zero_();
}

Variable LayerNorm::forward(const Variable& x) const { return layer_norm(x, weight_, bias_, eps_); }

}  // namespace linea
