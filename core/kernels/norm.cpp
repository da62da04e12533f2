// Validation, allocation and device dispatch of layer_norm / rms_norm and their backward.
#include "core/kernels/norm.h"

#include <algorithm>

#include "core/kernels/dispatch.h"
#include "core/kernels/reduce.h"

namespace linea::kernels {
namespace {

DType acc_dtype(DType t) { return t == DType::f64 ? DType::f64 : DType::f32; }

// x [*, C] with C > 0; param (weight or bias) undefined or [C] of x's dtype and device.
void check_input(const char* op, const Tensor& x) {
  check_floating(op, x);
  LINEA_CHECK(x.dim() >= 1 && x.size(-1) > 0, op, ": expected x [*, C] with C > 0, got ", x.desc());
}
void check_param(const char* op, const char* what, const Tensor& x, const Tensor& p) {
  if (!p.defined()) return;
  check_same_device(op, x, p);
  check_same_dtype(op, x, p);
  LINEA_CHECK(p.shape() == Shape{x.size(-1)}, op, ": ", what, " must be [", x.size(-1), "] to match x ", x.desc(),
              ", got ", p.desc());
}
Tensor contiguous_or_undefined(const Tensor& t) { return t.defined() ? t.contiguous() : t; }

Tensor norm_fwd(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, bool centered,
                Tensor* mean, Tensor* rstd) {
  check_input(op, x);
  check_param(op, "weight", x, weight);
  check_param(op, "bias", x, bias);
  LINEA_CHECK(eps >= 0, op, ": eps must be >= 0, got ", eps);
  const int64_t C = x.size(-1), N = x.numel() / C;
  const Shape stats(x.shape().begin(), x.shape().end() - 1);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor mu = centered ? Tensor::empty(stats, acc_dtype(x.dtype()), x.device()) : Tensor();
  Tensor rs = Tensor::empty(stats, acc_dtype(x.dtype()), x.device());
  if (N > 0)
    LINEA_DISPATCH_DEVICE(x.device(), norm_fwd, x.contiguous(), contiguous_or_undefined(weight),
                          contiguous_or_undefined(bias), eps, y, mu, rs, N, C);
  if (mean) *mean = mu;
  if (rstd) *rstd = rs;
  return y;
}

NormGrads norm_bwd(const char* op, const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                   const Tensor& rstd, bool want_dweight, bool want_dbias) {
  check_input(op, x);
  check_param(op, "weight", x, weight);
  check_same_device(op, x, dy);
  check_same_dtype(op, x, dy);
  LINEA_CHECK(dy.shape() == x.shape(), op, " backward: gradient ", dy.desc(), " does not match x ", x.desc());
  const int64_t C = x.size(-1), N = x.numel() / C;
  const DType acc = acc_dtype(x.dtype());
  auto check_stat = [&](const Tensor& s) {
    LINEA_CHECK(s.dtype() == acc && s.numel() == N && s.device() == x.device(), op, " backward: saved statistic ",
                s.desc(), " does not match x ", x.desc());
  };
  if (mean.defined()) check_stat(mean);  // undefined for rms_norm
  check_stat(rstd);
  want_dweight = want_dweight && weight.defined();
  const int64_t P = std::min(N, kNormGradParts);
  Tensor dw_parts = want_dweight ? Tensor::empty({P, C}, acc, x.device()) : Tensor();
  Tensor db_parts = want_dbias ? Tensor::empty({P, C}, acc, x.device()) : Tensor();
  NormGrads g;
  g.dx = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (N > 0)
    LINEA_DISPATCH_DEVICE(x.device(), norm_bwd, dy.contiguous(), x.contiguous(), contiguous_or_undefined(weight),
                          contiguous_or_undefined(mean), rstd.contiguous(), g.dx, dw_parts, db_parts, N, C);
  if (want_dweight) g.dweight = reduce(ReduceOp::sum, dw_parts, {0}, false).to(x.dtype());
  if (want_dbias) g.dbias = reduce(ReduceOp::sum, db_parts, {0}, false).to(x.dtype());
  return g;
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, Tensor* mean, Tensor* rstd) {
  return norm_fwd("layer_norm", x, weight, bias, eps, true, mean, rstd);
}

Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps, Tensor* rstd) {
  return norm_fwd("rms_norm", x, weight, Tensor(), eps, false, nullptr, rstd);
}

NormGrads layer_norm_bwd(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                         const Tensor& rstd, bool want_dweight, bool want_dbias) {
  LINEA_CHECK(mean.defined(), "layer_norm backward: the saved mean is required");
  return norm_bwd("layer_norm", dy, x, weight, mean, rstd, want_dweight, want_dbias);
}

NormGrads rms_norm_bwd(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& rstd,
                       bool want_dweight) {
  return norm_bwd("rms_norm", dy, x, weight, Tensor(), rstd, want_dweight, false);
}

}  // namespace linea::kernels
