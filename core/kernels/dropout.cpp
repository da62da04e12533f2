// Validation and dispatch of dropout; forward and backward share one masking kernel.
#include "core/kernels/dropout.h"

#include "core/kernels/dispatch.h"

namespace linea::kernels {
namespace {
Tensor apply_mask(const char* op, const Tensor& x, double p, uint64_t seed, uint64_t offset) {
  check_floating(op, x);
  check_dropout_p(p);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (x.numel() == 0) return y;
  RandomParams mask{RandomKind::bernoulli, seed, offset, float(1.0 - p), 0.0f};
  auto idx = make_strided_offsets<2>(x.shape(), {x.strides(), y.strides()}, op);
  LINEA_DISPATCH_DEVICE(x.device(), dropout, x, y, mask, 1.0 / (1.0 - p), idx);
  return y;
}
}  // namespace

void check_dropout_p(double p) {
  LINEA_CHECK(p >= 0.0 && p < 1.0, "dropout: probability ", p, " outside [0, 1)");
}
Tensor dropout_fwd(const Tensor& x, double p, uint64_t seed, uint64_t offset) {
  return apply_mask("dropout", x, p, seed, offset);
}
Tensor dropout_bwd(const Tensor& dy, double p, uint64_t seed, uint64_t offset) {
  return apply_mask("dropout backward", dy, p, seed, offset);
}

}  // namespace linea::kernels
