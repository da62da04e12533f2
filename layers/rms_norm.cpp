// RMSNorm layer.
#include "layers/rms_norm.h"

#include "autograd/ops/rms_norm.h"

namespace linea {

RMSNorm::RMSNorm(int64_t dim, double eps, Device device, DType dtype) : eps_(eps) {
  weight_ = register_parameter("weight", Variable(Tensor::ones({dim}, dtype, device)));
}

void RMSNorm::reset_parameters() { Tensor(weight_.data()).fill_(1.0); }

Variable RMSNorm::forward(const Variable& x) const { return rms_norm(x, weight_, eps_); }

}  // namespace linea
