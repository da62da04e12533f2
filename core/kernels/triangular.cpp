// Validation and dispatch of tril / triu and their backward.
#include "core/kernels/triangular.h"

#include "core/kernels/dispatch.h"

namespace linea::kernels {
namespace {
Tensor triangular(const char* op, const Tensor& x, int64_t diagonal, bool upper, double value) {
  check_floating(op, x);
  LINEA_CHECK(x.dim() >= 2, op, ": expected at least 2 dims [*, rows, cols], got ", x.desc());
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (x.numel() == 0) return out;
  TriangleSpec spec{x.size(-2), x.size(-1), diagonal, upper};
  auto idx = make_strided_offsets<2>(x.shape(), {x.strides(), out.strides()}, op);
  LINEA_DISPATCH_DEVICE(x.device(), triangular, x, out, spec, value, idx);
  return out;
}
}  // namespace

Tensor tril(const Tensor& x, int64_t diagonal, double value) { return triangular("tril", x, diagonal, false, value); }
Tensor triu(const Tensor& x, int64_t diagonal, double value) { return triangular("triu", x, diagonal, true, value); }
Tensor triangular_bwd(const Tensor& dy, int64_t diagonal, bool upper) {
  return triangular(upper ? "triu backward" : "tril backward", dy, diagonal, upper, 0.0);
}

}  // namespace linea::kernels
