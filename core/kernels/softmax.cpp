// Validation, allocation and device dispatch of softmax / log_softmax and their backward.
#include "core/kernels/softmax.h"

#include "core/kernels/dispatch.h"

namespace linea::kernels {
namespace {
const char* op_name(bool log) { return log ? "log_softmax" : "softmax"; }
}  // namespace

Tensor softmax(const Tensor& x, bool log) {
  const char* name = op_name(log);
  check_floating(name, x);
  LINEA_CHECK(x.dim() >= 1, name, ": expected a tensor with at least 1 dim (rows over the last), got ", x.desc());
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (y.numel() == 0) return y;
  const int64_t C = x.size(-1);
  LINEA_DISPATCH_DEVICE(x.device(), softmax, x.contiguous(), y, y.numel() / C, C, log);
  return y;
}

Tensor softmax_bwd(const Tensor& y, const Tensor& dy, bool log) {
  const char* name = op_name(log);
  check_floating(name, y);
  check_same_device(name, y, dy);
  check_same_dtype(name, y, dy);
  LINEA_CHECK(y.shape() == dy.shape(), name, " backward: gradient ", dy.desc(), " does not match output ", y.desc());
  LINEA_CHECK(y.dim() >= 1, name, " backward: expected at least 1 dim, got ", y.desc());
  Tensor dx = Tensor::empty(y.shape(), y.dtype(), y.device());
  if (dx.numel() == 0) return dx;
  const int64_t C = y.size(-1);
  LINEA_DISPATCH_DEVICE(y.device(), softmax_bwd, y.contiguous(), dy.contiguous(), dx, dx.numel() / C, C, log);
  return dx;
}

}  // namespace linea::kernels
