// Inclusive prefix sums along one dim with fp32 (f64 for f64) accumulation; the backward
// is the reverse (suffix) sum of dy. Shapes: x [*] -> y [*].
#pragma once
#include "core/tensor.h"

namespace linea {
// x viewed as contiguous [outer, n, inner]; the scan runs over n.
struct ScanGeometry {
  int64_t outer = 0, n = 0, inner = 0;
  bool reverse = false;  // y[k] = sum over j >= k instead of j <= k
};
}  // namespace linea

namespace linea::kernels {
Tensor cumsum(const Tensor& x, int64_t dim);
Tensor cumsum_bwd(const Tensor& dy, int64_t dim);
}  // namespace linea::kernels

namespace linea::cpu {
// x, y contiguous.
void cumsum(const Tensor& x, const Tensor& y, const ScanGeometry& g);
}
namespace linea::cuda {
void cumsum(const Tensor& x, const Tensor& y, const ScanGeometry& g);
}
