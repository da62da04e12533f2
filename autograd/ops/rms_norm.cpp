// rms_norm op: saves x, weight and the f32 rstd; one backward kernel gives dx and dweight.
#include "autograd/ops/rms_norm.h"

#include "autograd/node.h"
#include "core/kernels/norm.h"

namespace linea {

Variable rms_norm(const Variable& x, const Variable& weight, double eps) {
  const Tensor w = weight.defined() ? weight.data() : Tensor();
  Tensor rstd;
  Tensor y = kernels::rms_norm(x.data(), w, eps, &rstd);
  return record_op("rms_norm", y, {x, weight}, [xt = x.data(), w, rstd](const Tensor& g, const NeedsGrad& needs) {
    kernels::NormGrads r = kernels::rms_norm_bwd(g, xt, w, rstd, needs[1]);
    return std::vector<Tensor>{r.dx, r.dweight};
  });
}

}  // namespace linea
