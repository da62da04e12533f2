// Validation and dispatch of cumsum and its backward.
#include "core/kernels/cumsum.h"

#include "core/kernels/dispatch.h"

namespace linea::kernels {
namespace {
Tensor scan(const char* op, const Tensor& x_in, int64_t dim, bool reverse) {
  check_floating(op, x_in);
  dim = wrap_dim(op, dim, x_in.dim());
  Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (x.numel() == 0) return y;
  if (x.dim() == 0) {
    y.copy_(x);
    return y;
  }
  ScanGeometry g{1, x.size(dim), 1, reverse};
  for (int64_t d = 0; d < dim; ++d) g.outer *= x.size(d);
  for (int64_t d = dim + 1; d < x.dim(); ++d) g.inner *= x.size(d);
  LINEA_DISPATCH_DEVICE(x.device(), cumsum, x, y, g);
  return y;
}
}  // namespace

Tensor cumsum(const Tensor& x, int64_t dim) { return scan("cumsum", x, dim, false); }
Tensor cumsum_bwd(const Tensor& dy, int64_t dim) { return scan("cumsum backward", dy, dim, true); }

}  // namespace linea::kernels
