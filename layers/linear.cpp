// Linear layer.
#include "layers/linear.h"

#include "autograd/ops/matmul.h"

namespace linea {

Linear::Linear(int64_t in_features, int64_t out_features, bool bias, Device device, DType dtype) {
  weight_ = register_parameter("weight", Variable(Tensor::zeros({out_features, in_features}, dtype, device)));
  if (bias) bias_ = register_parameter("bias", Variable(Tensor::zeros({out_features}, dtype, device)));
}

Variable Linear::forward(const Variable& x) const { return linear(x, weight_, bias_); }

}  // namespace linea
