// Validation, allocation and dispatch of the hybrid window + linear attention to its CPU or CUDA kernel.
#include "core/kernels/hedgehog_window.h"

#include <cmath>

#include "core/kernels/dispatch.h"
#include "core/kernels/segments.h"

namespace linea::kernels {
namespace {

struct Checked {
  HedgehogWindowDims dims;
  AttentionSegments segments;  // owns what dims points at
  bool covers_all = true;
};

void check_state(const char* op, const char* what, const LinearState& s, const Tensor& q, int64_t N, int64_t H,
                 int64_t F, int64_t Dv) {
  if (!s.defined()) {
    LINEA_CHECK(!s.z.defined(), op, ": ", what, " has z but no S");
    return;
  }
  LINEA_CHECK(s.S.shape() == (Shape{N, H, F, Dv}) && s.S.dtype() == q.dtype() && s.S.device() == q.device(), op, ": ",
              what, ".S ", s.S.desc(), " must be [", N, ", ", H, ", ", F, ", ", Dv, "] in ", q.desc(),
              "'s dtype and device");
  LINEA_CHECK(s.z.defined() && s.z.shape() == (Shape{N, H, F}) && s.z.dtype() == q.dtype() && s.z.device() == q.device(),
              op, ": ", what, ".z ", s.z.defined() ? s.z.desc() : std::string("(undefined)"), " must be [", N, ", ",
              H, ", ", F, "] in ", q.desc(), "'s dtype and device");
}

void check(Checked& c, const char* op, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& fq,
           const Tensor& fk, const Tensor& gamma, const Tensor& lambda, const HedgehogWindowOptions& opt,
           const LinearState& initial_state) {
  check_floating(op, q);
  for (const Tensor* t : {&k, &v, &fq, &fk, &gamma, &lambda}) {
    check_same_device(op, q, *t);
    check_same_dtype(op, q, *t);
  }
  check_dim(op, q, 4, "q [B, H, T, D]");
  check_dim(op, k, 4, "k [B, H, T, D]");
  check_dim(op, v, 4, "v [B, H, T, Dv]");
  check_dim(op, fq, 4, "fq [B, H, T, F]");
  check_dim(op, fk, 4, "fk [B, H, T, F]");
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3), Dv = v.size(3), F = fq.size(3);
  LINEA_CHECK(k.shape() == q.shape(), op, ": k ", k.desc(), " must match q ", q.desc());
  LINEA_CHECK(v.size(0) == B && v.size(1) == H && v.size(2) == T && Dv > 0 && D > 0, op, ": v ", v.desc(),
              " does not match q ", q.desc(), " (expected [", B, ", ", H, ", ", T, ", Dv])");
  LINEA_CHECK(fq.size(0) == B && fq.size(1) == H && fq.size(2) == T && F > 0, op, ": fq ", fq.desc(),
              " does not match q ", q.desc(), " (expected [", B, ", ", H, ", ", T, ", F])");
  LINEA_CHECK(fk.shape() == fq.shape(), op, ": fk ", fk.desc(), " must match fq ", fq.desc());
  LINEA_CHECK(gamma.shape() == Shape{H} && lambda.shape() == Shape{H}, op, ": gamma ", gamma.desc(), " and lambda ",
              lambda.desc(), " must be [", H, "]");
  LINEA_CHECK(!q.device().is_cpu() || q.dtype() == DType::f32 || q.dtype() == DType::f64, op, ": ", q.desc(),
              " must be f32 or f64 (the CPU kernel's types)");
  LINEA_CHECK(opt.window >= 0, op, ": window must be >= 1 (or 0: pure linear attention), got ", opt.window);
  c.segments = opt.segments;
  c.covers_all = resolve_segments(op, c.segments, B, T) == B * T;
  const int64_t N = int64_t(c.segments.start.size());
  check_state(op, "initial_state", initial_state, q, N, H, F, Dv);
  c.dims = HedgehogWindowDims{B, H, T, D, Dv, F, opt.window, opt.layout,
                              opt.scale > 0 ? opt.scale : 1.0 / std::sqrt(double(D)), c.segments.start.data(),
                              c.segments.length.data(), N};
}

Tensor like(const Tensor& x, const Shape& shape, bool zeroed) {
  return zeroed ? Tensor::zeros(shape, x.dtype(), x.device()) : Tensor::empty(shape, x.dtype(), x.device());
}

}  // namespace

HedgehogWindowOutput hedgehog_window_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& fq,
                                         const Tensor& fk, const Tensor& gamma, const Tensor& lambda,
                                         const HedgehogWindowOptions& opt, const LinearState& initial_state,
                                         bool final_state) {
  Checked c;
  check(c, "hedgehog_window_fwd", q, k, v, fq, fk, gamma, lambda, opt, initial_state);
  const HedgehogWindowDims& d = c.dims;
  HedgehogWindowOutput r;
  r.out = like(q, {d.B, d.H, d.T, d.Dv}, !c.covers_all);
  if (final_state) r.final_state = {like(q, {d.segments, d.H, d.F, d.Dv}, false), like(q, {d.segments, d.H, d.F}, false)};
  LINEA_DISPATCH_DEVICE(q.device(), hedgehog_window_fwd, q.contiguous(), k.contiguous(), v.contiguous(),
                        fq.contiguous(), fk.contiguous(), gamma.contiguous(), lambda.contiguous(),
                        contiguous_or_undefined(initial_state.S), contiguous_or_undefined(initial_state.z), r.out,
                        r.final_state.S, r.final_state.z, d);
  return r;
}

HedgehogWindowGrads hedgehog_window_bwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& fq,
                                        const Tensor& fk, const Tensor& gamma, const Tensor& lambda,
                                        const Tensor& dout, const HedgehogWindowOptions& opt,
                                        const LinearState& initial_state, const LinearState& dfinal_state) {
  const char* op = "hedgehog_window_bwd";
  Checked c;
  check(c, op, q, k, v, fq, fk, gamma, lambda, opt, initial_state);
  const HedgehogWindowDims& d = c.dims;
  LINEA_CHECK(dout.shape() == (Shape{d.B, d.H, d.T, d.Dv}) && dout.dtype() == q.dtype() && dout.device() == q.device(),
              op, ": dout ", dout.desc(), " must be [", d.B, ", ", d.H, ", ", d.T, ", ", d.Dv, "] like the output");
  check_state(op, "dfinal_state", dfinal_state, q, d.segments, d.H, d.F, d.Dv);
  // Rows outside every sequence (padding) get zero gradients: start from zeros then.
  HedgehogWindowGrads g;
  g.dq = like(q, q.shape(), !c.covers_all);
  g.dk = like(q, k.shape(), !c.covers_all);
  g.dv = like(q, v.shape(), !c.covers_all);
  g.dfq = like(q, fq.shape(), !c.covers_all);
  g.dfk = like(q, fk.shape(), !c.covers_all);
  Tensor dgamma = like(q, {d.segments, d.H}, false), dlambda = like(q, {d.segments, d.H}, false);
  if (initial_state.defined())
    g.dinitial_state = {like(q, initial_state.S.shape(), false), like(q, initial_state.z.shape(), false)};
  LINEA_DISPATCH_DEVICE(q.device(), hedgehog_window_bwd, q.contiguous(), k.contiguous(), v.contiguous(),
                        fq.contiguous(), fk.contiguous(), gamma.contiguous(), lambda.contiguous(),
                        contiguous_or_undefined(initial_state.S), contiguous_or_undefined(initial_state.z),
                        dout.contiguous(), contiguous_or_undefined(dfinal_state.S),
                        contiguous_or_undefined(dfinal_state.z), g.dq, g.dk, g.dv, g.dfq, g.dfk, dgamma, dlambda,
                        g.dinitial_state.S, g.dinitial_state.z, d);
  // Per-sequence partial sums of the per-head weights' gradients, summed in sequence order
  // (on the host: H x sequences values).
  const Tensor dgamma_host = dgamma.to(Device::cpu()), dlambda_host = dlambda.to(Device::cpu());
  g.dgamma = Tensor::zeros({d.H}, q.dtype());
  g.dlambda = Tensor::zeros({d.H}, q.dtype());
  for (int64_t h = 0; h < d.H; ++h) {
    double sg = 0, sl = 0;
    for (int64_t s = 0; s < d.segments; ++s) {
      sg += dgamma_host.at({s, h});
      sl += dlambda_host.at({s, h});
    }
    g.dgamma.set({h}, sg);
    g.dlambda.set({h}, sl);
  }
  g.dgamma = g.dgamma.to(q.device());
  g.dlambda = g.dlambda.to(q.device());
  return g;
}

}  // namespace linea::kernels
