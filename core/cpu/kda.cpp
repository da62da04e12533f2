// CPU Kimi Delta Attention: the token-by-token oracle (specs/kimi_linear.md §1.4) and the
// chunkwise algorithm (§2.2 forward, §2.5 backward), per (sequence, value head) with Eigen
// products; every sum and the state in the input's floating type.
//
// The decayed pair scores A[r, s] = Σ_i x_r[i] y_s[i] exp(G_r[i] - G_s[i]) (s <= r in one chunk)
// are where the numerics live (§2.4): exp(G_r) exp(-G_s) would overflow once G falls more
// than ~88 nats inside a chunk. Rows are cut into sub-chunks of 16; a block of rows r >= n
// against columns s < n (n the block's first row) is one GEMM of x_r exp(G_r - G_n) and
// y_s exp(G_n - G_s), both factors <= 1. A 16 x 16 diagonal block is a GEMM through its middle
// row when its decay span is small enough for the type (fla's safe-gate path, chosen here per
// block from the data), else it takes exp(G_r - G_s) per element (fla's token-parallel path
// for the unbounded gate).
// GCC 12 reports false -Wmaybe-uninitialized inside Eigen's inlined AVX-512 GEMM kernels
// (see core/cpu/matmul.cpp); the diagnostic must stay off for the whole file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/kernels/fast_math.h"
#include "core/kernels/kda.h"

namespace linea::cpu {
namespace {

template <class S>
using Mat = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class S>
using Col = Eigen::Matrix<S, Eigen::Dynamic, 1>;
template <class S>
using Rows = Eigen::Map<Mat<S>>;
template <class S>
using ConstRows = Eigen::Map<const Mat<S>>;

constexpr int64_t kSubChunk = 16;

// exp of every coefficient through linea's branch-free exp (GCC vectorizes it; Eigen's
// .exp() and std::exp are scalar libm calls here, measured at a third of a KDA step).
template <class S, class E>
Mat<S> exp_of(const E& e) {
  return e.unaryExpr([](S v) { return math::exp<S>(v); });
}

// Where one (sequence, value head) plane lives: the first row of its q/k head in [B*H*T]
// rows, of its value head in [B*HV*T] rows, and its state in [N*HV] states.
struct Plane {
  int64_t qk_row, v_row, state, length;
};

Plane plane(const KdaDims& d, int64_t s, int64_t e) {
  const int64_t start = d.seg_start[s], b = start / d.T, t0 = start % d.T, h = e / d.group();
  return {(b * d.H + h) * d.T + t0, (b * d.HV + e) * d.T + t0, s * d.HV + e, d.seg_length[s]};
}

template <class S>
Mat<S> initial(const Tensor& state, const KdaDims& d, const Plane& p) {
  if (!state.defined()) return Mat<S>::Zero(d.K, d.V);
  return ConstRows<S>(state.data<S>() + p.state * d.K * d.V, d.K, d.V);
}

// A block of rows [r0, r0 + rows) against columns [c0, c0 + cols) of the decayed scores,
// factored through a reference row n: x_r exp(G_r - G_n) and y_s exp(G_n - G_s), so the
// block is one GEMM. Safe when every exponent is bounded: n <= every row and >= every column
// (both factors <= 1), or n inside a diagonal block whose decay span fits the type (below).
template <class S>
struct FactoredBlock {
  Mat<S> a, b;    // exp(G_r - G_n) [rows, K], exp(G_n - G_s) [cols, K]
  Mat<S> xr, ys;  // x ⊙ a, y ⊙ b
  FactoredBlock(const Mat<S>& x, const Mat<S>& y, const Mat<S>& G, int64_t r0, int64_t rows, int64_t c0, int64_t cols,
                int64_t n) {
    const auto Gn = G.row(n);
    a = exp_of<S>(G.middleRows(r0, rows).rowwise() - Gn);
    b = exp_of<S>((-G.middleRows(c0, cols)).rowwise() + Gn);
    xr = x.middleRows(r0, rows).cwiseProduct(a);
    ys = y.middleRows(c0, cols).cwiseProduct(b);
  }
};

// The largest decay (nats) a diagonal block may span and still be factored through its middle
// row: each factor stays within exp(±span / 2) and the masked-out products within exp(span),
// far inside the type's range (f32 overflows at 88.7). Spans beyond it (the unbounded gate can
// fall hundreds of nats in 16 tokens) take exp(G_r - G_s) per element, as fla's
// token-parallel path.
template <class S>
constexpr double kMaxFactoredSpan = sizeof(S) == 4 ? 80.0 : 600.0;

template <class S>
bool factorable_diagonal(const Mat<S>& G, int64_t n, int64_t rows) {
  return double((G.row(n) - G.row(n + rows - 1)).maxCoeff()) <= kMaxFactoredSpan<S>;
}

// Keeps the scored part of a diagonal block: s <= r (with `diagonal`) or s < r.
template <class S, class Block>
void mask_diagonal_block(Block&& blk, bool diagonal) {
  for (int64_t r = 0; r < blk.rows(); ++r)
    for (int64_t s = diagonal ? r + 1 : r; s < blk.cols(); ++s) blk(r, s) = S(0);
}

// A[r, s] = Σ_i x_r[i] y_s[i] exp(G_r[i] - G_s[i]) for s < r (and s = r with `diagonal`), else 0.
template <class S>
Mat<S> decayed_scores(const Mat<S>& x, const Mat<S>& y, const Mat<S>& G, bool diagonal) {
  const int64_t m = x.rows(), K = x.cols();
  Mat<S> A = Mat<S>::Zero(m, m);
  for (int64_t n = 0; n < m; n += kSubChunk) {
    const int64_t rows = std::min(kSubChunk, m - n);
    if (n > 0) {
      const FactoredBlock<S> f(x, y, G, n, rows, 0, n, n);
      A.block(n, 0, rows, n).noalias() = f.xr * f.ys.transpose();
    }
    if (factorable_diagonal(G, n, rows)) {
      const FactoredBlock<S> f(x, y, G, n, rows, n, rows, n + rows / 2);
      A.block(n, n, rows, rows).noalias() = f.xr * f.ys.transpose();
      mask_diagonal_block<S>(A.block(n, n, rows, rows), diagonal);
      continue;
    }
    for (int64_t r = n; r < n + rows; ++r)
      for (int64_t s = n; s < (diagonal ? r + 1 : r); ++s) {
        S acc = 0;
        for (int64_t i = 0; i < K; ++i) acc += x(r, i) * y(s, i) * math::exp<S>(G(r, i) - G(s, i));
        A(r, s) = acc;
      }
  }
  return A;
}

// Adds one factored block's gradients given its dA block (zero outside the scored part).
template <class S, class Block>
void factored_block_bwd(const FactoredBlock<S>& f, const Block& dA, int64_t r0, int64_t c0, Mat<S>& dx, Mat<S>& dy,
                        Mat<S>& dG) {
  const int64_t rows = f.a.rows(), cols = f.b.rows();
  const Mat<S> dxr = dA * f.ys, dys = dA.transpose() * f.xr;
  dx.middleRows(r0, rows) += dxr.cwiseProduct(f.a);
  dG.middleRows(r0, rows) += f.xr.cwiseProduct(dxr);
  dy.middleRows(c0, cols) += dys.cwiseProduct(f.b);
  dG.middleRows(c0, cols) -= f.ys.cwiseProduct(dys);
}

// Adds the gradients of decayed_scores given dA (zero outside the scored triangle): into dx,
// dy and dG. G_r's gradient is x_r ⊙ (its dx term), G_s's minus y_s ⊙ (its dy term); the
// reference row's factors cancel in A, so they get no gradient of their own.
template <class S>
void decayed_scores_bwd(const Mat<S>& x, const Mat<S>& y, const Mat<S>& G, const Mat<S>& dA, bool diagonal,
                        Mat<S>& dx, Mat<S>& dy, Mat<S>& dG) {
  const int64_t m = x.rows(), K = x.cols();
  for (int64_t n = 0; n < m; n += kSubChunk) {
    const int64_t rows = std::min(kSubChunk, m - n);
    if (n > 0) factored_block_bwd(FactoredBlock<S>(x, y, G, n, rows, 0, n, n), dA.block(n, 0, rows, n), n, 0, dx, dy, dG);
    if (factorable_diagonal(G, n, rows)) {
      factored_block_bwd(FactoredBlock<S>(x, y, G, n, rows, n, rows, n + rows / 2), dA.block(n, n, rows, rows), n, n,
                         dx, dy, dG);
      continue;
    }
    for (int64_t r = n; r < n + rows; ++r)
      for (int64_t s = n; s < (diagonal ? r + 1 : r); ++s) {
        const S c = dA(r, s);
        if (c == S(0)) continue;
        for (int64_t i = 0; i < K; ++i) {
          const S e = c * math::exp<S>(G(r, i) - G(s, i)), t = e * x(r, i) * y(s, i);
          dx(r, i) += e * y(s, i);
          dy(s, i) += e * x(r, i);
          dG(r, i) += t;
          dG(s, i) -= t;
        }
      }
  }
}

// Everything of one chunk that does not depend on the state entering it (§2.1).
template <class S>
struct Chunk {
  Mat<S> q, k, v;  // the chunk's rows
  Col<S> beta;
  Mat<S> G, eG;    // within-chunk cumulative log decay and its exp (<= 1)
  Mat<S> kdec;     // k ⊙ exp(G_last - G): each key's weight in the chunk-end state
  Mat<S> Aqk;      // scale Σ q_r k_s exp(G_r - G_s), s <= r
  Mat<S> Pkk, L;   // delta rule: Σ k_r k_s exp(G_r - G_s), s < r; L = diag(β) Pkk (I + L is unit lower)
  Mat<S> w, u;     // (I + L)^-1 (β k ⊙ exp(G)), (I + L)^-1 (β v); without the delta rule u = β v
  Mat<S> vn;       // pseudo-values u - w S (set by the state sweep)
  auto Glast() const { return G.row(G.rows() - 1); }
};

template <class S>
void load_chunk(Chunk<S>& c, const S* q, const S* k, const S* v, const S* g, const S* beta, const Plane& p,
                int64_t row0, int64_t m, const KdaDims& d) {
  c.q = ConstRows<S>(q + (p.qk_row + row0) * d.K, m, d.K);
  c.k = ConstRows<S>(k + (p.qk_row + row0) * d.K, m, d.K);
  c.v = ConstRows<S>(v + (p.v_row + row0) * d.V, m, d.V);
  c.beta = Eigen::Map<const Col<S>>(beta + p.v_row + row0, m);
  c.G = ConstRows<S>(g + (p.v_row + row0) * d.K, m, d.K);
  for (int64_t r = 1; r < m; ++r) c.G.row(r) += c.G.row(r - 1);
  c.eG = exp_of<S>(c.G);
  c.kdec = c.k.cwiseProduct(exp_of<S>((-c.G).rowwise() + c.Glast()));
  c.Aqk = S(d.scale) * decayed_scores<S>(c.q, c.k, c.G, true);
  if (d.delta_rule) {
    c.Pkk = decayed_scores<S>(c.k, c.k, c.G, false);
    c.L = c.beta.asDiagonal() * c.Pkk;
    const auto unit_lower = c.L.template triangularView<Eigen::UnitLower>();
    c.w = unit_lower.solve(c.beta.asDiagonal() * c.k.cwiseProduct(c.eG));
    c.u = unit_lower.solve(c.beta.asDiagonal() * c.v);
  } else {
    c.u = c.beta.asDiagonal() * c.v;
  }
}

// One chunk through the state (§2.2): sets c.vn, writes the chunk's output rows and advances S.
template <class S>
void chunk_forward(Chunk<S>& c, Mat<S>& state, S* out, const KdaDims& d) {
  c.vn = c.u;
  if (d.delta_rule) c.vn.noalias() -= c.w * state;
  if (out) {
    Rows<S> O(out, c.q.rows(), d.V);
    O.noalias() = c.Aqk * c.vn;
    O.noalias() += S(d.scale) * (c.q.cwiseProduct(c.eG) * state);
  }
  state = exp_of<S>(c.Glast()).transpose().asDiagonal() * state;
  state.noalias() += c.kdec.transpose() * c.vn;
}

template <class S>
struct Inputs {
  const S *q, *k, *v, *g, *beta;
};

template <class S>
Inputs<S> inputs(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta) {
  return {q.data<S>(), k.data<S>(), v.data<S>(), g.data<S>(), beta.data<S>()};
}

// Where a plane's states go: the final state [N*HV] and the chunk-start snapshots
// [N, HV, slots] (each [K, V]); null when not asked for.
template <class S>
struct StatesOut {
  S *final_state, *chunk_states;
  int64_t slots;
  void snapshot(const Mat<S>& state, const KdaDims& d, const Plane& p, int64_t t) const {
    if (chunk_states && t % d.chunk == 0)
      Rows<S>(chunk_states + (p.state * slots + t / d.chunk) * d.K * d.V, d.K, d.V) = state;
  }
  void finish(const Mat<S>& state, const KdaDims& d, const Plane& p) const {
    if (final_state) Rows<S>(final_state + p.state * d.K * d.V, d.K, d.V) = state;
  }
};

template <class S>
void forward_plane(const Inputs<S>& in, S* out, const Tensor& initial_state, const StatesOut<S>& states,
                   const KdaDims& d, int64_t s, int64_t e) {
  const Plane p = plane(d, s, e);
  Mat<S> state = initial<S>(initial_state, d, p);
  Chunk<S> c;
  for (int64_t r0 = 0; r0 < p.length; r0 += d.chunk) {
    const int64_t m = std::min(d.chunk, p.length - r0);
    states.snapshot(state, d, p, r0);
    load_chunk(c, in.q, in.k, in.v, in.g, in.beta, p, r0, m, d);
    chunk_forward(c, state, out + (p.v_row + r0) * d.V, d);
  }
  states.finish(state, d, p);
}

// §1.4 verbatim: decay, delta, update, read, one token at a time.
template <class S>
void recurrent_plane(const Inputs<S>& in, S* out, const Tensor& initial_state, const StatesOut<S>& states,
                     const KdaDims& d, int64_t s, int64_t e) {
  const Plane p = plane(d, s, e);
  Mat<S> state = initial<S>(initial_state, d, p);
  for (int64_t t = 0; t < p.length; ++t) {
    states.snapshot(state, d, p, t);
    const ConstRows<S> q(in.q + (p.qk_row + t) * d.K, 1, d.K), k(in.k + (p.qk_row + t) * d.K, 1, d.K);
    const ConstRows<S> v(in.v + (p.v_row + t) * d.V, 1, d.V), g(in.g + (p.v_row + t) * d.K, 1, d.K);
    const S beta = in.beta[p.v_row + t];
    state = exp_of<S>(g).transpose().asDiagonal() * state;
    Mat<S> u = d.delta_rule ? Mat<S>(beta * (v - k * state)) : Mat<S>(beta * v);
    state.noalias() += k.transpose() * u;
    Rows<S>(out + (p.v_row + t) * d.V, 1, d.V).noalias() = S(d.scale) * (q * state);
  }
  states.finish(state, d, p);
}

template <class S>
struct Grads {
  S *dq, *dk, *dv, *dg, *dbeta, *dinitial;
};

// §2.5 for one (sequence, value head): a forward sweep keeps each chunk's intermediates and
// entering state; the reverse sweep carries dS back and adds each chunk's gradients.
template <class S>
void backward_plane(const Inputs<S>& in, const S* dout, const Tensor& initial_state, const Tensor& dfinal_state,
                    const Grads<S>& out, const KdaDims& d, int64_t s, int64_t e) {
  const Plane p = plane(d, s, e);
  const int64_t chunks = (p.length + d.chunk - 1) / d.chunk;
  std::vector<Chunk<S>> cs(static_cast<size_t>(chunks));
  std::vector<Mat<S>> entering(static_cast<size_t>(chunks));
  Mat<S> state = initial<S>(initial_state, d, p);
  for (int64_t n = 0; n < chunks; ++n) {
    const int64_t r0 = n * d.chunk, m = std::min(d.chunk, p.length - r0);
    load_chunk(cs[size_t(n)], in.q, in.k, in.v, in.g, in.beta, p, r0, m, d);
    entering[size_t(n)] = state;
    chunk_forward<S>(cs[size_t(n)], state, nullptr, d);
  }
  Mat<S> dS = dfinal_state.defined() ? Mat<S>(ConstRows<S>(dfinal_state.data<S>() + p.state * d.K * d.V, d.K, d.V))
                                     : Mat<S>::Zero(d.K, d.V);
  for (int64_t n = chunks - 1; n >= 0; --n) {
    const Chunk<S>& c = cs[size_t(n)];
    const Mat<S>& S0 = entering[size_t(n)];
    const int64_t r0 = n * d.chunk, m = c.q.rows();
    const ConstRows<S> dO(dout + (p.v_row + r0) * d.V, m, d.V);
    const S scale = S(d.scale);
    const Col<S> decay_last = exp_of<S>(c.Glast()).transpose();
    Mat<S> dq = Mat<S>::Zero(m, d.K), dk = Mat<S>::Zero(m, d.K), dG = Mat<S>::Zero(m, d.K);
    Col<S> dbeta = Col<S>::Zero(m);
    // The chunk-end state S_end = Diag(e^{G_last}) S0 + kdecᵀ vn, and O = scale (q ⊙ e^G) S0 + Aqk vn.
    const Mat<S> dS_end = dS;
    Mat<S> dvn = c.Aqk.transpose() * dO;
    dvn.noalias() += c.kdec * dS_end;
    const Mat<S> dq_inter = scale * (dO * S0.transpose()).cwiseProduct(c.eG);
    dq += dq_inter;
    dG += c.q.cwiseProduct(dq_inter);
    const Mat<S> dkdec = c.vn * dS_end.transpose();  // gradient of kdec; kdec = k ⊙ exp(G_last - G)
    const Mat<S> dk_inter = dkdec.cwiseProduct(exp_of<S>((-c.G).rowwise() + c.Glast()));
    dk += dk_inter;
    dG -= c.k.cwiseProduct(dk_inter);
    Col<S> dGlast = (c.k.cwiseProduct(dk_inter)).colwise().sum().transpose();
    dGlast += decay_last.cwiseProduct(S0.cwiseProduct(dS_end).rowwise().sum());
    dS = decay_last.asDiagonal() * dS_end;
    dS.noalias() += scale * (c.q.cwiseProduct(c.eG).transpose() * dO);
    // vn = u - w S0 with (I + L) w = β k ⊙ e^G and (I + L) u = β v.
    Mat<S> dv;
    if (d.delta_rule) {
      dS.noalias() -= c.w.transpose() * dvn;
      const auto unit_upper = c.L.transpose().template triangularView<Eigen::UnitUpper>();
      const Mat<S> dkb = unit_upper.solve(-(dvn * S0.transpose()));  // w's right-hand side
      const Mat<S> dvb = unit_upper.solve(dvn);                        // u's right-hand side
      Mat<S> dL = -(dkb * c.w.transpose());
      dL.noalias() -= dvb * c.u.transpose();
      dL = Mat<S>(dL.template triangularView<Eigen::StrictlyLower>());
      const Mat<S> keG = c.k.cwiseProduct(c.eG);
      dv = c.beta.asDiagonal() * dvb;
      dbeta += dvb.cwiseProduct(c.v).rowwise().sum() + dkb.cwiseProduct(keG).rowwise().sum();
      const Mat<S> dkb_beta = c.beta.asDiagonal() * dkb;
      dk += dkb_beta.cwiseProduct(c.eG);
      dG += dkb_beta.cwiseProduct(keG);
      // L = diag(β) Pkk
      dbeta += dL.cwiseProduct(c.Pkk).rowwise().sum();
      decayed_scores_bwd<S>(c.k, c.k, c.G, c.beta.asDiagonal() * dL, false, dk, dk, dG);
    } else {
      dv = c.beta.asDiagonal() * dvn;
      dbeta += dvn.cwiseProduct(c.v).rowwise().sum();
    }
    Mat<S> dAqk = scale * (dO * c.vn.transpose());
    dAqk = Mat<S>(dAqk.template triangularView<Eigen::Lower>());
    decayed_scores_bwd<S>(c.q, c.k, c.G, dAqk, true, dq, dk, dG);
    dG.row(m - 1) += dGlast.transpose();
    // G is the cumulative sum of g inside the chunk: dg is the reverse cumulative sum of dG.
    for (int64_t r = m - 2; r >= 0; --r) dG.row(r) += dG.row(r + 1);
    Rows<S>(out.dq + (p.qk_row + r0) * d.K, m, d.K) += dq;
    Rows<S>(out.dk + (p.qk_row + r0) * d.K, m, d.K) += dk;
    Rows<S>(out.dv + (p.v_row + r0) * d.V, m, d.V) = dv;
    Rows<S>(out.dg + (p.v_row + r0) * d.K, m, d.K) = dG;
    Eigen::Map<Col<S>>(out.dbeta + p.v_row + r0, m) = dbeta;
  }
  if (out.dinitial) Rows<S>(out.dinitial + p.state * d.K * d.V, d.K, d.V) = dS;
}

template <class S>
S* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<S>() : nullptr;
}

template <class S, class PlaneFn>
void forward(PlaneFn plane_fn, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta,
             const Tensor& out, const Tensor& initial_state, const Tensor& final_state, const Tensor& chunk_states,
             const KdaDims& d) {
  const Inputs<S> in = inputs<S>(q, k, v, g, beta);
  S* o = out.data<S>();
  const StatesOut<S> states{data_or_null<S>(final_state), data_or_null<S>(chunk_states),
                            chunk_states.defined() ? chunk_states.size(2) : 0};
#pragma omp parallel for collapse(2) schedule(dynamic)
  for (int64_t s = 0; s < d.segments; ++s)
    for (int64_t e = 0; e < d.HV; ++e) plane_fn(in, o, initial_state, states, d, s, e);
}

// Parallel over (sequence, q/k head): the value heads of a group add into the same dq, dk rows.
template <class S>
void backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta,
              const Tensor& dout, const Tensor& initial_state, const Tensor& dfinal_state, const Grads<S>& out,
              const KdaDims& d) {
  const Inputs<S> in = inputs<S>(q, k, v, g, beta);
  const S* dO = dout.data<S>();
#pragma omp parallel for collapse(2) schedule(dynamic)
  for (int64_t s = 0; s < d.segments; ++s)
    for (int64_t h = 0; h < d.H; ++h)
      for (int64_t e = h * d.group(); e < (h + 1) * d.group(); ++e)
        backward_plane<S>(in, dO, initial_state, dfinal_state, out, d, s, e);
}

}  // namespace

void kda_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta, const Tensor& out,
             const Tensor& initial_state, const Tensor& final_state, const Tensor& chunk_states, const KdaDims& d) {
  if (q.dtype() == DType::f64)
    forward<double>(forward_plane<double>, q, k, v, g, beta, out, initial_state, final_state, chunk_states, d);
  else forward<float>(forward_plane<float>, q, k, v, g, beta, out, initial_state, final_state, chunk_states, d);
}

void kda_recurrent_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta,
                       const Tensor& out, const Tensor& initial_state, const Tensor& final_state,
                       const Tensor& chunk_states, const KdaDims& d) {
  if (q.dtype() == DType::f64)
    forward<double>(recurrent_plane<double>, q, k, v, g, beta, out, initial_state, final_state, chunk_states, d);
  else forward<float>(recurrent_plane<float>, q, k, v, g, beta, out, initial_state, final_state, chunk_states, d);
}

void kda_bwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta,
             const Tensor& dout, const Tensor& initial_state, const Tensor& dfinal_state, const Tensor& dq,
             const Tensor& dk, const Tensor& dv, const Tensor& dg, const Tensor& dbeta, const Tensor& dinitial_state,
             const KdaDims& d) {
  if (q.dtype() == DType::f64) {
    backward<double>(q, k, v, g, beta, dout, initial_state, dfinal_state,
                     {dq.data<double>(), dk.data<double>(), dv.data<double>(), dg.data<double>(),
                      dbeta.data<double>(), data_or_null<double>(dinitial_state)},
                     d);
  } else {
    backward<float>(q, k, v, g, beta, dout, initial_state, dfinal_state,
                    {dq.data<float>(), dk.data<float>(), dv.data<float>(), dg.data<float>(), dbeta.data<float>(),
                     data_or_null<float>(dinitial_state)},
                    d);
  }
}

}  // namespace linea::cpu
