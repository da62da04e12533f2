// Validation, allocation and device dispatch of the fused attention forward and backward.
#include "core/kernels/attention.h"

#include <cmath>

#include "core/kernels/dispatch.h"

namespace linea::kernels {
namespace {

DType lse_dtype(DType t) { return t == DType::f64 ? DType::f64 : DType::f32; }

// Checks q [B,H,T,D], k/v [B,Hkv,T,D] and resolves the scale.
AttentionDims check_qkv(const char* op, const Tensor& q, const Tensor& k, const Tensor& v, bool causal, double scale) {
  check_floating(op, q);
  check_same_device(op, q, k);
  check_same_device(op, q, v);
  check_same_dtype(op, q, k);
  check_same_dtype(op, q, v);
  check_dim(op, q, 4, "q [B, H, T, D]");
  check_dim(op, k, 4, "k [B, Hkv, T, D]");
  check_dim(op, v, 4, "v [B, Hkv, T, D]");
  LINEA_CHECK(k.shape() == v.shape(), op, ": k ", k.desc(), " and v ", v.desc(), " must have the same shape");
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3), Hkv = k.size(1);
  LINEA_CHECK(k.size(0) == B && k.size(2) == T && k.size(3) == D, op, ": k ", k.desc(),
              " does not match q ", q.desc(), " in batch, sequence length or head dim (expected [", B, ", Hkv, ", T,
              ", ", D, "])");
  LINEA_CHECK(Hkv > 0 && H % Hkv == 0, op, ": query heads H = ", H, " must be a multiple of kv heads Hkv = ", Hkv);
  LINEA_CHECK(D > 0, op, ": head dim D must be positive, got ", q.desc());
  LINEA_CHECK(std::isfinite(scale), op, ": scale must be finite, got ", scale);
  const double s = scale == 0 ? 1.0 / std::sqrt(double(D)) : scale;
  return AttentionDims{B, H, Hkv, T, D, causal, s};
}

}  // namespace

Tensor attention_fwd(const Tensor& q, const Tensor& k, const Tensor& v, bool causal, double scale, Tensor* lse) {
  const AttentionDims d = check_qkv("attention", q, k, v, causal, scale);
  Tensor out = Tensor::empty(q.shape(), q.dtype(), q.device());
  Tensor l = Tensor::empty({d.B, d.H, d.T}, lse_dtype(q.dtype()), q.device());
  if (out.numel() > 0)
    LINEA_DISPATCH_DEVICE(q.device(), attention_fwd, q.contiguous(), k.contiguous(), v.contiguous(), out, l, d);
  if (lse) *lse = l;
  return out;
}

AttentionGrads attention_bwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& lse,
                             const Tensor& dout, bool causal, double scale) {
  const char* op = "attention backward";
  const AttentionDims d = check_qkv(op, q, k, v, causal, scale);
  for (const Tensor* t : {&out, &dout}) {
    check_same_device(op, q, *t);
    check_same_dtype(op, q, *t);
    LINEA_CHECK(t->shape() == q.shape(), op, ": ", (t == &out ? "out " : "dout "), t->desc(), " does not match q ",
                q.desc());
  }
  check_same_device(op, q, lse);
  LINEA_CHECK(lse.dtype() == lse_dtype(q.dtype()) && lse.shape() == (Shape{d.B, d.H, d.T}), op, ": lse ", lse.desc(),
              " should be ", dtype_name(lse_dtype(q.dtype())), "[", d.B, ", ", d.H, ", ", d.T,
              "] as written by attention_fwd");
  AttentionGrads g{Tensor::empty(q.shape(), q.dtype(), q.device()), Tensor::empty(k.shape(), k.dtype(), k.device()),
                   Tensor::empty(v.shape(), v.dtype(), v.device())};
  if (q.numel() > 0)
    LINEA_DISPATCH_DEVICE(q.device(), attention_bwd, q.contiguous(), k.contiguous(), v.contiguous(), out.contiguous(),
                          lse.contiguous(), dout.contiguous(), g.dq, g.dk, g.dv, d);
  else if (k.numel() > 0) {  // no query rows: k and v get zero gradient
    g.dk.zero_();
    g.dv.zero_();
  }
  return g;
}

}  // namespace linea::kernels
