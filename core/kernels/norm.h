// layer_norm and rms_norm over the last dim with optional affine parameters, forward and
// hand-written backward. Shapes: x [*, C], weight/bias [C] -> y [*, C]; the saved
// statistics mean/rstd are [*] in f32 (f64 for f64). Backends see N rows of C.
#pragma once
#include "core/tensor.h"

namespace linea::kernels {

// Backward splits the rows into this many parts (fewer when N is smaller); each part sums
// its dweight/dbias contributions into its own row of a [parts, C] buffer, then the parts
// are reduced. Deterministic, no atomics.
constexpr int64_t kNormGradParts = 64;

// y = (x - mean) * rstd * weight + bias, rstd = 1 / sqrt(biased var + eps). weight, bias
// may be undefined (no scale / no shift). *mean and *rstd, when given, receive the stats.
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, Tensor* mean = nullptr,
                  Tensor* rstd = nullptr);
// y = x * rstd * weight, rstd = 1 / sqrt(mean(x^2) + eps). weight may be undefined.
Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps, Tensor* rstd = nullptr);

// Gradients of the norms; dweight/dbias are undefined unless asked for (and the
// parameter exists). With xhat = (x - mean) * rstd and g = dy * weight:
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat))   (rms_norm: no mean(g) term)
//   dweight = sum over rows of dy * xhat, dbias = sum over rows of dy.
struct NormGrads {
  Tensor dx, dweight, dbias;
};
NormGrads layer_norm_bwd(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                         const Tensor& rstd, bool want_dweight, bool want_dbias);
NormGrads rms_norm_bwd(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& rstd,
                       bool want_dweight);

}  // namespace linea::kernels

// Backends: one implementation for both norms; `mean` undefined means rms_norm.
// x, y, dy, dx: contiguous [N, C]; weight, bias: contiguous [C] or undefined (x's dtype);
// mean, rstd: [N] in the accumulation dtype; dweight_parts, dbias_parts: [P, C] in the
// accumulation dtype or undefined, P = min(N, kNormGradParts), part p covering rows
// [p * N / P, (p + 1) * N / P). N, C > 0.
namespace linea::cpu {
void norm_fwd(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
              const Tensor& mean, const Tensor& rstd, int64_t N, int64_t C);
void norm_bwd(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean, const Tensor& rstd,
              const Tensor& dx, const Tensor& dweight_parts, const Tensor& dbias_parts, int64_t N, int64_t C);
}  // namespace linea::cpu

namespace linea::cuda {
void norm_fwd(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
              const Tensor& mean, const Tensor& rstd, int64_t N, int64_t C);
void norm_bwd(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean, const Tensor& rstd,
              const Tensor& dx, const Tensor& dweight_parts, const Tensor& dbias_parts, int64_t N, int64_t C);
}  // namespace linea::cuda
