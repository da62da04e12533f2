// Linear layer.
#include "layers/linear.h"

#include "autograd/ops/matmul.h"

namespace linea {

Linear::Linear(int64_t in_features, int64_t out_features, bool bias, Device device, DType dtype) {
  weight_ = register_parameter("weight", Variable(Tensor::zeros({out_features, in_features}, dtype, device)));
  if (bias) bias_ = register_parameter("bias", Variable(Tensor::zeros({out_features}, dtype, device)));
}

Linear::Linear(const Variable& weight, const Variable& bias) {
  // register_parameter marks a parameter trained: a frozen weight stays frozen.
  const bool weight_trained = weight.requires_grad(), bias_trained = bias.defined() && bias.requires_grad();
  weight_ = register_parameter("weight", weight);
  weight_.set_requires_grad(weight_trained);
  if (bias.defined()) {
    bias_ = register_parameter("bias", bias);
    bias_.set_requires_grad(bias_trained);
  }
}

Variable Linear::forward(const Variable& x) const { return linear(x, weight_, bias_); }

}  // namespace linea
