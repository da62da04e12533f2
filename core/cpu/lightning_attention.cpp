// CPU Lightning attention: per (sequence, head), blocks of rows with Eigen products; the
// state and every sum in the input's floating type.
// GCC 12 reports false -Wmaybe-uninitialized inside Eigen's inlined AVX-512 GEMM kernels
// (see core/cpu/matmul.cpp); the diagnostic must stay off for the whole file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/kernels/lightning_attention.h"

namespace linea::cpu {
namespace {

template <class S>
using Mat = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class S>
using Rows = Eigen::Map<Mat<S>>;
template <class S>
using ConstRows = Eigen::Map<const Mat<S>>;

// Where sequence s, head h starts in a [B, H, T, width] tensor, and its λ powers.
struct Plane {
  int64_t offset_rows;  // row index of the sequence's first token in the [B*H*T] rows
  int64_t length;
  std::vector<double> pow;  // λ^k, k = 0 .. block + 1
};

Plane plane(const LightningDims& d, int64_t s, int64_t h) {
  const int64_t start = d.seg_start[s], b = start / d.T, t0 = start % d.T;
  Plane p{(b * d.H + h) * d.T + t0, d.seg_length[s], {}};
  const double decay = d.decay ? d.decay[h] : 0.0;
  for (int64_t k = 0; k <= d.block + 1; ++k) p.pow.push_back(std::exp(-decay * double(k)));
  return p;
}

// The causal decay mask of a block of m rows: M(a, c) = λ^(a-c) for c <= a, else 0.
template <class S>
Mat<S> decay_mask(const Plane& p, int64_t m) {
  Mat<S> mask = Mat<S>::Zero(m, m);
  for (int64_t a = 0; a < m; ++a)
    for (int64_t c = 0; c <= a; ++c) mask(a, c) = S(p.pow[size_t(a - c)]);
  return mask;
}

// Row a of a block scaled by λ^(a+1) (how much a query sees of the state before its block).
template <class S>
Eigen::Matrix<S, Eigen::Dynamic, 1> query_decay(const Plane& p, int64_t m) {
  Eigen::Matrix<S, Eigen::Dynamic, 1> v(m);
  for (int64_t a = 0; a < m; ++a) v(a) = S(p.pow[size_t(a + 1)]);
  return v;
}

// Row c scaled by λ^(m-1-c) (how much key c weighs in the state after its block).
template <class S>
Eigen::Matrix<S, Eigen::Dynamic, 1> key_decay(const Plane& p, int64_t m) {
  Eigen::Matrix<S, Eigen::Dynamic, 1> v(m);
  for (int64_t c = 0; c < m; ++c) v(c) = S(p.pow[size_t(m - 1 - c)]);
  return v;
}

template <class S>
Mat<S> initial(const Tensor& state, const LightningDims& d, int64_t s, int64_t h) {
  if (!state.defined()) return Mat<S>::Zero(d.Dk, d.Dv);
  return ConstRows<S>(state.data<S>() + (s * d.H + h) * d.Dk * d.Dv, d.Dk, d.Dv);
}

// The powers table holds λ^k up to block + 1; a block of m rows decays the state by λ^m.
template <class S>
void forward_plane(const S* q, const S* k, const S* v, S* out, const Tensor& initial_state, S* final_state,
                   const LightningDims& d, int64_t s, int64_t h) {
  const Plane p = plane(d, s, h);
  Mat<S> state = initial<S>(initial_state, d, s, h);
  for (int64_t a0 = 0; a0 < p.length; a0 += d.block) {
    const int64_t m = std::min(d.block, p.length - a0), row = p.offset_rows + a0;
    ConstRows<S> Q(q + row * d.Dk, m, d.Dk), K(k + row * d.Dk, m, d.Dk), V(v + row * d.Dv, m, d.Dv);
    Rows<S> O(out + row * d.Dv, m, d.Dv);
    const Mat<S> P = (Q * K.transpose()).cwiseProduct(decay_mask<S>(p, m));
    O.noalias() = P * V;
    O.noalias() += query_decay<S>(p, m).asDiagonal() * (Q * state);
    state = S(p.pow[size_t(m)]) * state;
    state.noalias() += (key_decay<S>(p, m).asDiagonal() * K).transpose() * V;
  }
  if (final_state) Rows<S>(final_state + (s * d.H + h) * d.Dk * d.Dv, d.Dk, d.Dv) = state;
}

// Non-causal, no decay: every row reads the whole sequence's state S_0 + Kᵀ V.
template <class S>
void forward_bidirectional_plane(const S* q, const S* k, const S* v, S* out, const Tensor& initial_state,
                                 S* final_state, const LightningDims& d, int64_t s, int64_t h) {
  const Plane p = plane(d, s, h);
  ConstRows<S> Q(q + p.offset_rows * d.Dk, p.length, d.Dk), K(k + p.offset_rows * d.Dk, p.length, d.Dk);
  ConstRows<S> V(v + p.offset_rows * d.Dv, p.length, d.Dv);
  Mat<S> state = initial<S>(initial_state, d, s, h);
  state.noalias() += K.transpose() * V;
  Rows<S>(out + p.offset_rows * d.Dv, p.length, d.Dv).noalias() = Q * state;
  if (final_state) Rows<S>(final_state + (s * d.H + h) * d.Dk * d.Dv, d.Dk, d.Dv) = state;
}

// Its gradient: dS = dS_final + Qᵀ dO reaches every key and value and the initial state.
template <class S>
void backward_bidirectional_plane(const S* q, const S* k, const S* v, const S* dout, const Tensor& initial_state,
                                  const Tensor& dfinal_state, S* dq, S* dk, S* dv, S* dinitial,
                                  const LightningDims& d, int64_t s, int64_t h) {
  const Plane p = plane(d, s, h);
  const int64_t r = p.offset_rows, n = p.length;
  ConstRows<S> Q(q + r * d.Dk, n, d.Dk), K(k + r * d.Dk, n, d.Dk), V(v + r * d.Dv, n, d.Dv);
  ConstRows<S> dO(dout + r * d.Dv, n, d.Dv);
  Mat<S> state = initial<S>(initial_state, d, s, h);
  state.noalias() += K.transpose() * V;
  Mat<S> dstate = dfinal_state.defined()
                      ? Mat<S>(ConstRows<S>(dfinal_state.data<S>() + (s * d.H + h) * d.Dk * d.Dv, d.Dk, d.Dv))
                      : Mat<S>::Zero(d.Dk, d.Dv);
  dstate.noalias() += Q.transpose() * dO;
  Rows<S>(dq + r * d.Dk, n, d.Dk).noalias() = dO * state.transpose();
  Rows<S>(dk + r * d.Dk, n, d.Dk).noalias() = V * dstate.transpose();
  Rows<S>(dv + r * d.Dv, n, d.Dv).noalias() = K * dstate;
  if (dinitial) Rows<S>(dinitial + (s * d.H + h) * d.Dk * d.Dv, d.Dk, d.Dv) = dstate;
}

template <class S>
void backward_plane(const S* q, const S* k, const S* v, const S* dout, const Tensor& initial_state,
                    const Tensor& dfinal_state, S* dq, S* dk, S* dv, S* dinitial, const LightningDims& d, int64_t s,
                    int64_t h) {
  const Plane p = plane(d, s, h);
  const int64_t blocks = (p.length + d.block - 1) / d.block;
  // Forward sweep of the state: dq (which reads the state before its block) and the
  // intra-block dk, dv.
  Mat<S> state = initial<S>(initial_state, d, s, h);
  for (int64_t t = 0; t < blocks; ++t) {
    const int64_t a0 = t * d.block, m = std::min(d.block, p.length - a0), row = p.offset_rows + a0;
    ConstRows<S> Q(q + row * d.Dk, m, d.Dk), K(k + row * d.Dk, m, d.Dk), V(v + row * d.Dv, m, d.Dv);
    ConstRows<S> dO(dout + row * d.Dv, m, d.Dv);
    Rows<S> dQ(dq + row * d.Dk, m, d.Dk), dK(dk + row * d.Dk, m, d.Dk), dV(dv + row * d.Dv, m, d.Dv);
    const Mat<S> mask = decay_mask<S>(p, m);
    const Mat<S> dP = (dO * V.transpose()).cwiseProduct(mask);
    const Mat<S> P = (Q * K.transpose()).cwiseProduct(mask);
    dQ.noalias() = dP * K;
    dQ.noalias() += query_decay<S>(p, m).asDiagonal() * (dO * state.transpose());
    dK.noalias() = dP.transpose() * Q;
    dV.noalias() = P.transpose() * dO;
    state = S(p.pow[size_t(m)]) * state;
    state.noalias() += (key_decay<S>(p, m).asDiagonal() * K).transpose() * V;
  }
  // Reverse sweep of the state's gradient: dS before block t = λ^m dS after it + the
  // block's queries' use of it.
  Mat<S> dstate = dfinal_state.defined()
                      ? Mat<S>(ConstRows<S>(dfinal_state.data<S>() + (s * d.H + h) * d.Dk * d.Dv, d.Dk, d.Dv))
                      : Mat<S>::Zero(d.Dk, d.Dv);
  for (int64_t t = blocks - 1; t >= 0; --t) {
    const int64_t a0 = t * d.block, m = std::min(d.block, p.length - a0), row = p.offset_rows + a0;
    ConstRows<S> Q(q + row * d.Dk, m, d.Dk), K(k + row * d.Dk, m, d.Dk), V(v + row * d.Dv, m, d.Dv);
    ConstRows<S> dO(dout + row * d.Dv, m, d.Dv);
    Rows<S> dK(dk + row * d.Dk, m, d.Dk), dV(dv + row * d.Dv, m, d.Dv);
    const auto kd = key_decay<S>(p, m);
    dK.noalias() += kd.asDiagonal() * (V * dstate.transpose());
    dV.noalias() += kd.asDiagonal() * (K * dstate);
    dstate = S(p.pow[size_t(m)]) * dstate;
    dstate.noalias() += (query_decay<S>(p, m).asDiagonal() * Q).transpose() * dO;
  }
  if (dinitial) Rows<S>(dinitial + (s * d.H + h) * d.Dk * d.Dv, d.Dk, d.Dv) = dstate;
}

template <class S>
S* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<S>() : nullptr;
}

template <class S>
void forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& initial_state,
             const Tensor& final_state, const LightningDims& d) {
#pragma omp parallel for collapse(2) schedule(dynamic)
  for (int64_t s = 0; s < d.segments; ++s)
    for (int64_t h = 0; h < d.H; ++h)
      (d.causal ? forward_plane<S> : forward_bidirectional_plane<S>)(q.data<S>(), k.data<S>(), v.data<S>(),
                                                                      out.data<S>(), initial_state,
                                                                      data_or_null<S>(final_state), d, s, h);
}

template <class S>
void backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& dout, const Tensor& initial_state,
              const Tensor& dfinal_state, const Tensor& dq, const Tensor& dk, const Tensor& dv,
              const Tensor& dinitial_state, const LightningDims& d) {
#pragma omp parallel for collapse(2) schedule(dynamic)
  for (int64_t s = 0; s < d.segments; ++s)
    for (int64_t h = 0; h < d.H; ++h)
      (d.causal ? backward_plane<S> : backward_bidirectional_plane<S>)(
          q.data<S>(), k.data<S>(), v.data<S>(), dout.data<S>(), initial_state, dfinal_state, dq.data<S>(),
          dk.data<S>(), dv.data<S>(), data_or_null<S>(dinitial_state), d, s, h);
}

}  // namespace

void lightning_attn_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                        const Tensor& initial_state, const Tensor& final_state, const LightningDims& d) {
  if (q.dtype() == DType::f64) forward<double>(q, k, v, out, initial_state, final_state, d);
  else forward<float>(q, k, v, out, initial_state, final_state, d);
}

void lightning_attn_bwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& dout,
                        const Tensor& initial_state, const Tensor& dfinal_state, const Tensor& dq, const Tensor& dk,
                        const Tensor& dv, const Tensor& dinitial_state, const LightningDims& d) {
  if (q.dtype() == DType::f64) backward<double>(q, k, v, dout, initial_state, dfinal_state, dq, dk, dv, dinitial_state, d);
  else backward<float>(q, k, v, dout, initial_state, dfinal_state, dq, dk, dv, dinitial_state, d);
}

}  // namespace linea::cpu
