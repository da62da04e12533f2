// Validation, allocation and dispatch of Kimi Delta Attention to its CPU or CUDA kernels.
#include "core/kernels/kda.h"

#include <algorithm>
#include <cmath>

#include "core/kernels/dispatch.h"
#include "core/kernels/reduce.h"
#include "core/kernels/segments.h"

namespace linea::kernels {
namespace {

// The checked shapes of one call; `segments` owns what KdaDims points at.
struct CheckedKda {
  KdaDims dims;
  AttentionSegments segments;
};

void check_shape(const char* op, const char* name, const Tensor& t, const Shape& expected) {
  LINEA_CHECK(t.shape() == expected, op, ": ", name, " ", t.desc(), " must be ", shape_str(expected));
}

// g must be a log decay: <= 0 everywhere (NaN fails too), so every exponent the chunked form
// takes is of a non-positive difference.
// On the CPU the first bad element is named; on a GPU the check reads back only the
// maximum (NaN propagates through it).
template <class S>
void check_log_decay(const char* op, const Tensor& g) {
  const S* p = g.data<S>();
  for (int64_t i = 0, n = g.numel(); i < n; ++i)
    LINEA_CHECK(p[i] <= S(0), op, ": g must be a log decay (<= 0), element ", i, " is ", double(p[i]));
}
void check_log_decay(const char* op, const Tensor& g) {
  if (!g.device().is_cpu()) {
    if (g.numel() == 0) return;
    const double largest = reduce(ReduceOp::max, g, {}, false).to_vector()[0];
    LINEA_CHECK(largest <= 0, op, ": g must be a log decay (<= 0), its largest element is ", largest);
    return;
  }
  const Tensor gc = g.contiguous();
  if (g.dtype() == DType::f64) check_log_decay<double>(op, gc);
  else check_log_decay<float>(op, gc);
}

void check(CheckedKda& c, const char* op, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
           const Tensor& beta, const KdaOptions& opt, const Tensor& initial_state) {
  check_floating(op, q);
  for (const Tensor* t : {&k, &v, &g, &beta}) {
    check_same_device(op, q, *t);
    check_same_dtype(op, q, *t);
  }
  check_dim(op, q, 4, "q [B, H, T, K]");
  check_dim(op, v, 4, "v [B, HV, T, V]");
  LINEA_CHECK(!q.device().is_cpu() || q.dtype() == DType::f32 || q.dtype() == DType::f64, op, ": ", q.desc(),
              " must be f32 or f64 (the CPU kernel's types)");
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), K = q.size(3), HV = v.size(1), V = v.size(3);
  LINEA_CHECK(H > 0 && K > 0 && V > 0 && HV % H == 0, op, ": value heads (", HV, ") must be a multiple of q/k heads (",
              H, ")");
  check_shape(op, "k", k, q.shape());
  check_shape(op, "v", v, {B, HV, T, V});
  check_shape(op, "g", g, {B, HV, T, K});
  check_shape(op, "beta", beta, {B, HV, T});
  LINEA_CHECK(opt.chunk == 16 || opt.chunk == 32 || opt.chunk == 64, op, ": chunk must be 16, 32 or 64, got ", opt.chunk);
  c.segments = opt.segments;
  const int64_t covered = resolve_segments(op, c.segments, B, T);
  const int64_t N = int64_t(c.segments.start.size());
  if (initial_state.defined()) {
    check_shape(op, "initial_state", initial_state, {N, HV, K, V});
    check_same_dtype(op, q, initial_state);
    check_same_device(op, q, initial_state);
  }
  check_log_decay(op, g);
  const double scale = opt.scale > 0 ? opt.scale : 1.0 / std::sqrt(double(K));
  c.dims = KdaDims{B, H, HV, T, K, V, opt.chunk, scale, opt.delta_rule, c.segments.start.data(),
                   c.segments.length.data(), N, covered == B * T};
}

// The chunked kernel, or (recurrent) the token loop.
Tensor forward(const char* op, bool recurrent, const Tensor& q, const Tensor& k, const Tensor& v,
               const Tensor& g, const Tensor& beta, const KdaOptions& opt, const Tensor& initial_state,
               Tensor* final_state, Tensor* chunk_states) {
  CheckedKda c;
  check(c, op, q, k, v, g, beta, opt, initial_state);
  const KdaDims& d = c.dims;
  Tensor out = output_like(q, {d.B, d.HV, d.T, d.V}, !d.covers_all);
  Tensor final_out, chunks_out;
  if (final_state) final_out = output_like(q, {d.segments, d.HV, d.K, d.V}, false);
  if (chunk_states) {
    int64_t longest = 0;
    for (int64_t s = 0; s < d.segments; ++s) longest = std::max(longest, d.seg_length[s]);
    const DType type = q.dtype() == DType::f64 ? DType::f64 : DType::f32;
    chunks_out = Tensor::zeros({d.segments, d.HV, (longest + d.chunk - 1) / d.chunk, d.K, d.V}, type, q.device());
  }
  const Tensor qc = q.contiguous(), kc = k.contiguous(), vc = v.contiguous(), gc = g.contiguous(),
               bc = beta.contiguous(), s0 = contiguous_or_undefined(initial_state);
  if (recurrent)
    LINEA_DISPATCH_DEVICE(q.device(), kda_recurrent_fwd, qc, kc, vc, gc, bc, out, s0, final_out, chunks_out, d);
  else LINEA_DISPATCH_DEVICE(q.device(), kda_fwd, qc, kc, vc, gc, bc, out, s0, final_out, chunks_out, d);
  if (final_state) *final_state = final_out;
  if (chunk_states) *chunk_states = chunks_out;
  return out;
}

}  // namespace

Tensor kda_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta,
               const KdaOptions& opt, const Tensor& initial_state, Tensor* final_state, Tensor* chunk_states) {
  return forward("kda_fwd", false, q, k, v, g, beta, opt, initial_state, final_state, chunk_states);
}

Tensor kda_recurrent_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta,
                         const KdaOptions& opt, const Tensor& initial_state, Tensor* final_state,
                         Tensor* chunk_states) {
  return forward("kda_recurrent_fwd", true, q, k, v, g, beta, opt, initial_state, final_state, chunk_states);
}

Tensor kda_state_transpose(const Tensor& state) {
  check_dim("kda_state_transpose", state, 4, "a state [N, HV, K, V] or [N, HV, V, K]");
  return state.transpose(2, 3).contiguous();
}

KdaGrads kda_bwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta,
                 const Tensor& dout, const KdaOptions& opt, const Tensor& initial_state, const Tensor& dfinal_state) {
  const char* op = "kda_bwd";
  CheckedKda c;
  check(c, op, q, k, v, g, beta, opt, initial_state);
  const KdaDims& d = c.dims;
  check_shape(op, "dout", dout, {d.B, d.HV, d.T, d.V});
  if (dfinal_state.defined()) {
    check_shape(op, "dfinal_state", dfinal_state, {d.segments, d.HV, d.K, d.V});
    check_same_device(op, q, dfinal_state);
  }
  KdaGrads r;
  r.dq = output_like(q, q.shape(), true);
  r.dk = output_like(q, k.shape(), true);
  r.dv = output_like(q, v.shape(), !d.covers_all);
  r.dg = output_like(q, g.shape(), !d.covers_all);
  r.dbeta = output_like(q, beta.shape(), !d.covers_all);
  if (initial_state.defined()) r.dinitial_state = output_like(q, initial_state.shape(), false);
  LINEA_DISPATCH_DEVICE(q.device(), kda_bwd, q.contiguous(), k.contiguous(), v.contiguous(), g.contiguous(),
                        beta.contiguous(), dout.to(q.dtype()).contiguous(), contiguous_or_undefined(initial_state),
                        dfinal_state.defined() ? dfinal_state.to(q.dtype()).contiguous() : Tensor(), r.dq, r.dk, r.dv,
                        r.dg, r.dbeta, r.dinitial_state, d);
  return r;
}

}  // namespace linea::kernels
