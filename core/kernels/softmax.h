// Softmax and log-softmax over the last dim (max-subtracted, fp32 accumulation; f64 for
// f64) with hand-written backward kernels. Shapes: x [*, C] -> y [*, C]; the backends see
// N = numel / C rows of C contiguous elements.
#pragma once
#include "core/tensor.h"

namespace linea::kernels {

// log = true gives log_softmax. Any strides (x is made contiguous first); y is contiguous.
Tensor softmax(const Tensor& x, bool log = false);
// dx from y = softmax(x) (log_softmax(x) when log) and dy:
//   softmax:     dx = y * (dy - sum(dy * y))
//   log_softmax: dx = dy - exp(y) * sum(dy)
Tensor softmax_bwd(const Tensor& y, const Tensor& dy, bool log = false);

}  // namespace linea::kernels

namespace linea::cpu {
// x, y, dy, dx: contiguous [N, C] of one floating dtype; N, C > 0.
void softmax(const Tensor& x, const Tensor& y, int64_t N, int64_t C, bool log);
void softmax_bwd(const Tensor& y, const Tensor& dy, const Tensor& dx, int64_t N, int64_t C, bool log);
}  // namespace linea::cpu

namespace linea::cuda {
void softmax(const Tensor& x, const Tensor& y, int64_t N, int64_t C, bool log);
void softmax_bwd(const Tensor& y, const Tensor& dy, const Tensor& dx, int64_t N, int64_t C, bool log);
}  // namespace linea::cuda
