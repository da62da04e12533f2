// Validation, allocation and device dispatch of the fused attention forward and backward,
// and the ALiBi slopes.
#include "core/kernels/attention.h"

#include <algorithm>
#include <cmath>

#include "core/kernels/dispatch.h"
#include "core/kernels/segments.h"

namespace linea::kernels {

AttentionSegments AttentionSegments::packed(const std::vector<int64_t>& cu_seqlens) {
  AttentionSegments s;
  for (size_t i = 0; i + 1 < cu_seqlens.size(); ++i) {
    s.start.push_back(cu_seqlens[i]);
    s.length.push_back(cu_seqlens[i + 1] - cu_seqlens[i]);
  }
  return s;
}

AttentionSegments AttentionSegments::padded(const std::vector<int64_t>& lengths, int64_t T) {
  AttentionSegments s;
  for (size_t b = 0; b < lengths.size(); ++b) {
    s.start.push_back(int64_t(b) * T);
    s.length.push_back(lengths[b]);
  }
  return s;
}

int64_t AttentionSegments::max_length() const {
  return length.empty() ? 0 : *std::max_element(length.begin(), length.end());
}

std::vector<float> alibi_slopes(int64_t heads) {
  LINEA_CHECK(heads > 0, "alibi_slopes: heads must be positive, got ", heads);
  // Slopes of a power-of-two head count n: 2^(-8k/n), k = 1..n.
  auto power_of_two = [](int64_t n) {
    std::vector<float> s;
    for (int64_t k = 1; k <= n; ++k) s.push_back(float(std::exp2(-8.0 * double(k) / double(n))));
    return s;
  };
  int64_t c = 1;
  while (c * 2 <= heads) c *= 2;
  std::vector<float> slopes = power_of_two(c);
  const std::vector<float> twice = power_of_two(2 * c);
  for (int64_t i = 0; int64_t(slopes.size()) < heads; i += 2) slopes.push_back(twice[size_t(i)]);
  return slopes;
}

namespace {

DType lse_dtype(DType t) { return t == DType::f64 ? DType::f64 : DType::f32; }

// The checked shapes and options of one call; `segments` owns the arrays AttentionDims points at.
struct CheckedAttention {
  AttentionDims dims;
  AttentionSegments segments;
  Tensor slopes;  // contiguous f32 [H] or undefined
};

// Checks q [B,H,T,D], k/v [B,Hkv,T,D], the slopes and the segments, and resolves the scale.
void check_qkv(CheckedAttention& c, const char* op, const Tensor& q, const Tensor& k, const Tensor& v,
               const AttentionOptions& opt) {
  check_floating(op, q);
  check_same_device(op, q, k);
  check_same_device(op, q, v);
  check_same_dtype(op, q, k);
  check_same_dtype(op, q, v);
  check_dim(op, q, 4, "q [B, H, T, D]");
  check_dim(op, k, 4, "k [B, Hkv, T, D]");
  check_dim(op, v, 4, "v [B, Hkv, T, Dv]");
  LINEA_CHECK(k.size(0) == v.size(0) && k.size(1) == v.size(1) && k.size(2) == v.size(2) && v.size(3) > 0, op, ": k ",
              k.desc(), " and v ", v.desc(), " must agree in batch, heads and sequence length");
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3), Hkv = k.size(1), Dv = v.size(3);
  LINEA_CHECK(k.size(0) == B && k.size(2) == T && k.size(3) == D, op, ": k ", k.desc(),
              " does not match q ", q.desc(), " in batch, sequence length or head dim (expected [", B, ", Hkv, ", T,
              ", ", D, "])");
  LINEA_CHECK(Hkv > 0 && H % Hkv == 0, op, ": query heads H = ", H, " must be a multiple of kv heads Hkv = ", Hkv);
  LINEA_CHECK(D > 0, op, ": head dim D must be positive, got ", q.desc());
  LINEA_CHECK(std::isfinite(opt.scale), op, ": scale must be finite, got ", opt.scale);
  LINEA_CHECK(opt.window >= 0 && (opt.window == 0 || opt.causal), op, ": window ", opt.window,
              " must be >= 0, and a sliding window (> 0) needs causal attention");
  if (opt.alibi_slopes.defined()) {
    const Tensor& s = opt.alibi_slopes;
    check_same_device(op, q, s);
    LINEA_CHECK(s.dtype() == DType::f32 && s.shape() == (Shape{H}), op, ": alibi_slopes ", s.desc(),
                " should be f32[", H, "], one slope per query head");
    c.slopes = s.contiguous();
  }
  c.segments = opt.segments;
  const int64_t covered = resolve_segments(op, c.segments, B, T);
  const double scale = opt.scale == 0 ? 1.0 / std::sqrt(double(D)) : opt.scale;
  c.dims = AttentionDims{B,
                         H,
                         Hkv,
                         T,
                         D,
                         Dv,
                         opt.causal,
                         opt.window,
                         scale,
                         c.slopes.defined() ? static_cast<const float*>(c.slopes.data_ptr()) : nullptr,
                         c.segments.start.data(),
                         c.segments.length.data(),
                         int64_t(c.segments.start.size()),
                         c.segments.max_length(),
                         covered == B * T};
}

}  // namespace

Tensor attention_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& opt, Tensor* lse) {
  CheckedAttention c;
  check_qkv(c, "attention", q, k, v, opt);
  const AttentionDims& d = c.dims;
  Tensor out = Tensor::empty({d.B, d.H, d.T, d.Dv}, q.dtype(), q.device());
  Tensor l = Tensor::empty({d.B, d.H, d.T}, lse_dtype(q.dtype()), q.device());
  if (out.numel() > 0)
    LINEA_DISPATCH_DEVICE(q.device(), attention_fwd, q.contiguous(), k.contiguous(), v.contiguous(), out, l, d);
  if (lse) *lse = l;
  return out;
}

AttentionGrads attention_bwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& lse,
                             const Tensor& dout, const AttentionOptions& opt) {
  const char* op = "attention backward";
  CheckedAttention c;
  check_qkv(c, op, q, k, v, opt);
  const AttentionDims& d = c.dims;
  for (const Tensor* t : {&out, &dout}) {
    check_same_device(op, q, *t);
    check_same_dtype(op, q, *t);
    LINEA_CHECK(t->shape() == (Shape{d.B, d.H, d.T, d.Dv}), op, ": ", (t == &out ? "out " : "dout "), t->desc(),
                " does not match the output [", d.B, ", ", d.H, ", ", d.T, ", ", d.Dv, "]");
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
