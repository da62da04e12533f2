#include "optim/clip.h"

#include <cmath>

#include "core/kernels/elementwise.h"
#include "core/kernels/reduce.h"

namespace linea {

double clip_grad_norm(const NamedParams& params, double max_norm) {
  LINEA_CHECK_T(Error, max_norm > 0, "clip_grad_norm: max_norm must be positive, got ", max_norm);
  double sum_squares = 0.0;
  for (const auto& [name, param] : params) {
    const Tensor& g = param.grad();
    if (!g.defined() || g.numel() == 0) continue;
    const Tensor wide = g.to(g.dtype() == DType::f64 ? DType::f64 : DType::f32);
    sum_squares += kernels::reduce(ReduceOp::sum, kernels::binary_fwd(BinaryOp::mul, wide, wide), {}, false).item();
  }
  const double norm = std::sqrt(sum_squares);
  if (!std::isfinite(norm) || norm <= max_norm) return norm;
  const double coef = max_norm / (norm + 1e-6);
  for (const auto& [name, param] : params) {
    Tensor g = param.grad();
    if (g.defined()) g.copy_(kernels::unary_fwd(UnaryOp::affine, g, coef, 0.0));
  }
  return norm;
}

}  // namespace linea
