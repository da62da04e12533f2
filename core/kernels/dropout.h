// Dropout with a Philox mask: element i (row-major index) is kept when the uniform drawn
// for (seed, offset, i) is below 1 - p, so CPU and CUDA masks are identical and the
// backward recomputes the mask instead of storing it. Kept elements are scaled by
// 1 / (1 - p). Shapes: x [*] -> y [*].
#pragma once
#include "core/kernels/random.h"
#include "core/kernels/strided.h"
#include "core/tensor.h"

namespace linea::kernels {
// Throws unless 0 <= p < 1.
void check_dropout_p(double p);
Tensor dropout_fwd(const Tensor& x, double p, uint64_t seed, uint64_t offset);
// dx = dy * mask / (1 - p) with the mask of the forward's (seed, offset).
Tensor dropout_bwd(const Tensor& dy, double p, uint64_t seed, uint64_t offset);
}  // namespace linea::kernels

namespace linea::cpu {
// y[i] = keep(i) ? x[i] * scale : 0, keep(i) = random_value(mask, i) != 0 (a bernoulli
// RandomParams). idx operands: x, y (contiguous).
void dropout(const Tensor& x, const Tensor& y, const RandomParams& mask, double scale, const StridedOffsets<2>& idx);
}  // namespace linea::cpu
namespace linea::cuda {
void dropout(const Tensor& x, const Tensor& y, const RandomParams& mask, double scale, const StridedOffsets<2>& idx);
}
