// Validation, allocation and dispatch of Lightning attention to its CPU or CUDA kernel.
#include "core/kernels/lightning_attention.h"

#include <algorithm>

#include "core/kernels/dispatch.h"
#include "core/kernels/segments.h"

namespace linea::kernels {
namespace {

// The checked shapes of one call; `segments` and `decay` own what LightningDims points at.
struct CheckedLightning {
  LightningDims dims;
  AttentionSegments segments;
  Tensor decay;  // contiguous f64 [H] on the CPU, or undefined
};

// Fills `c` in place: its dims point into its own segments and decay.
void check(CheckedLightning& c, const char* op, const Tensor& q, const Tensor& k, const Tensor& v,
           const LightningOptions& opt, const Tensor& initial_state) {
  check_floating(op, q);
  check_same_device(op, q, k);
  check_same_device(op, q, v);
  check_same_dtype(op, q, k);
  check_same_dtype(op, q, v);
  check_dim(op, q, 4, "q [B, H, T, Dk]");
  check_dim(op, k, 4, "k [B, H, T, Dk]");
  check_dim(op, v, 4, "v [B, H, T, Dv]");
  LINEA_CHECK(k.shape() == q.shape(), op, ": k ", k.desc(), " must match q ", q.desc());
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), Dk = q.size(3), Dv = v.size(3);
  LINEA_CHECK(v.size(0) == B && v.size(1) == H && v.size(2) == T && Dv > 0 && Dk > 0, op, ": v ", v.desc(),
              " does not match q ", q.desc(), " (expected [", B, ", ", H, ", ", T, ", Dv])");
  LINEA_CHECK(!q.device().is_cpu() || q.dtype() == DType::f32 || q.dtype() == DType::f64, op, ": ", q.desc(),
              " must be f32 or f64 (the CPU kernel's types)");
  LINEA_CHECK(opt.block > 0, op, ": block must be positive, got ", opt.block);
  LINEA_CHECK(q.device().is_cpu() || (Dk <= 256 && Dv <= 256), op, ": the CUDA kernel takes head dims up to 256, got Dk = ",
              Dk, ", Dv = ", Dv);
  c.segments = opt.segments;
  const int64_t covered = resolve_segments(op, c.segments, B, T);
  const int64_t N = int64_t(c.segments.start.size());
  if (opt.decay.defined()) {
    LINEA_CHECK(opt.decay.dim() == 1 && opt.decay.size(0) == H, op, ": decay ", opt.decay.desc(), " must be [", H, "]");
    c.decay = opt.decay.to(Device::cpu(), DType::f64).contiguous();
    for (int64_t h = 0; h < H; ++h)
      LINEA_CHECK(c.decay.data<double>()[h] >= 0, op, ": decay s must be >= 0 (λ = exp(-s) <= 1), head ", h, " has ",
                  c.decay.data<double>()[h]);
  }
  LINEA_CHECK(opt.causal || !opt.decay.defined(), op,
              ": non-causal lightning attention has no decay (λ^(i-j) needs i >= j); pass an undefined decay");
  if (initial_state.defined()) {
    LINEA_CHECK(initial_state.shape() == (Shape{N, H, Dk, Dv}) && initial_state.dtype() == q.dtype() &&
                    initial_state.device() == q.device(),
                op, ": initial_state ", initial_state.desc(), " must be [", N, ", ", H, ", ", Dk, ", ", Dv, "] in ",
                q.desc(), "'s dtype and device");
  }
  c.dims = LightningDims{B, H, T, Dk, Dv, opt.block, c.decay.defined() ? c.decay.data<double>() : nullptr,
                         c.segments.start.data(), c.segments.length.data(), N, covered == B * T, opt.causal};
}

}  // namespace

Tensor lightning_attn_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const LightningOptions& opt,
                          const Tensor& initial_state, Tensor* final_state) {
  CheckedLightning c;
  check(c, "lightning_attn_fwd", q, k, v, opt, initial_state);
  const LightningDims& d = c.dims;
  Tensor out = output_like(q, {d.B, d.H, d.T, d.Dv}, !d.covers_all);
  Tensor final_out;
  if (final_state) final_out = output_like(q, {d.segments, d.H, d.Dk, d.Dv}, false);
  LINEA_DISPATCH_DEVICE(q.device(), lightning_attn_fwd, q.contiguous(), k.contiguous(), v.contiguous(), out,
                        contiguous_or_undefined(initial_state), final_out, d);
  if (final_state) *final_state = final_out;
  return out;
}

LightningGrads lightning_attn_bwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& dout,
                                  const LightningOptions& opt, const Tensor& initial_state,
                                  const Tensor& dfinal_state) {
  CheckedLightning c;
  check(c, "lightning_attn_bwd", q, k, v, opt, initial_state);
  const LightningDims& d = c.dims;
  LINEA_CHECK(dout.shape() == (Shape{d.B, d.H, d.T, d.Dv}) && dout.dtype() == q.dtype(),
              "lightning_attn_bwd: dout ", dout.desc(), " must match the output [", d.B, ", ", d.H, ", ", d.T, ", ",
              d.Dv, "]");
  LINEA_CHECK(!dfinal_state.defined() ||
                  (dfinal_state.shape() == (Shape{d.segments, d.H, d.Dk, d.Dv}) && dfinal_state.device() == q.device()),
              "lightning_attn_bwd: dfinal_state ", dfinal_state.desc(), " must be [", d.segments, ", ", d.H, ", ",
              d.Dk, ", ", d.Dv, "] on ", q.device().str());
  LightningGrads g;
  g.dq = output_like(q, q.shape(), !d.covers_all);
  g.dk = output_like(q, k.shape(), !d.covers_all);
  g.dv = output_like(q, v.shape(), !d.covers_all);
  if (initial_state.defined()) g.dinitial_state = output_like(q, initial_state.shape(), false);
  LINEA_DISPATCH_DEVICE(q.device(), lightning_attn_bwd, q.contiguous(), k.contiguous(), v.contiguous(),
                        dout.contiguous(), contiguous_or_undefined(initial_state),
                        dfinal_state.defined() ? dfinal_state.to(q.dtype()).contiguous() : Tensor(), g.dq, g.dk, g.dv,
                        g.dinitial_state, d);
  return g;
}

}  // namespace linea::kernels
