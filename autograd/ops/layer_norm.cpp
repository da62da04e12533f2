// layer_norm op: saves x, weight and the f32 mean/rstd; one backward kernel gives dx,
// dweight and dbias (the latter two only when wanted).
#include "autograd/ops/layer_norm.h"

#include "autograd/node.h"
#include "core/kernels/norm.h"

namespace linea {

Variable layer_norm(const Variable& x, const Variable& weight, const Variable& bias, double eps) {
  const Tensor w = weight.defined() ? weight.data() : Tensor();
  const Tensor b = bias.defined() ? bias.data() : Tensor();
  Tensor mean, rstd;
  Tensor y = kernels::layer_norm(x.data(), w, b, eps, &mean, &rstd);
  return record_op("layer_norm", y, {x, weight, bias},
                   [xt = x.data(), w, mean, rstd](const Tensor& g, const NeedsGrad& needs) {
                     kernels::NormGrads r = kernels::layer_norm_bwd(g, xt, w, mean, rstd, needs[1], needs[2]);
                     return std::vector<Tensor>{r.dx, r.dweight, r.dbias};
                   });
}

}  // namespace linea
