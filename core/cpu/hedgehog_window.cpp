// CPU hybrid window + linear attention (core/kernels/hedgehog_window.h): per (sequence, head),
// blocks of w rows; each block's rows against the keys of its own and the previous block as
// small Eigen products, older keys through the running state. Every sum in the input's type.
// GCC 12 reports false -Wmaybe-uninitialized inside Eigen's inlined GEMM kernels (see
// core/cpu/matmul.cpp); the diagnostic must stay off for the whole file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/kernels/hedgehog_window.h"

namespace linea::cpu {
namespace {

using kernels::WindowLayout;

constexpr int64_t kPureLinearBlock = 64;

template <class S>
using Mat = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class S>
using Vec = Eigen::Matrix<S, Eigen::Dynamic, 1>;
template <class S>
using RowsOf = Eigen::Map<const Mat<S>>;
template <class S>
using MutRowsOf = Eigen::Map<Mat<S>>;

// One (sequence, head): where its rows start in [B, H, T, *] tensors, its length, and the
// start of each block (blocks of w aligned to the sequence's end; the first may be shorter).
struct Plane {
  int64_t row0 = 0, length = 0;
  std::vector<int64_t> block_start;  // plus a final entry = length
};

Plane plane(const HedgehogWindowDims& d, int64_t s, int64_t h) {
  const int64_t start = d.seg_start[s], b = start / d.T, t0 = start % d.T;
  Plane p;
  p.row0 = (b * d.H + h) * d.T + t0;
  p.length = d.seg_length[s];
  // Pure linear attention (window 0) has no window to align blocks with: plain 64-row blocks.
  const int64_t w = d.window > 0 ? d.window : kPureLinearBlock;
  const int64_t first = p.length % w ? p.length % w : w;
  for (int64_t a = 0; a < p.length; a = a == 0 ? std::min(first, p.length) : a + w) p.block_start.push_back(a);
  p.block_start.push_back(p.length);
  return p;
}

// Which of the block-pair tile's (query i, key j) pairs are window (1), linear (2) or neither
// (0); i and j are positions in the sequence, j within the previous and current block.
inline int pair_kind(const HedgehogWindowDims& d, int64_t i, int64_t j) {
  if (j > i) return 0;
  if (d.window == 0) return 2;  // pure linear attention
  if (d.layout == WindowLayout::terrace) return 1;  // the tile is exactly the terrace window
  return j > i - d.window ? 1 : 2;
}

// Everything one block's rows compute from the tile, kept for the backward.
template <class S>
struct BlockTerms {
  Mat<S> e;     // exp(s − c) on window pairs, 0 elsewhere            [rows, tile]
  Mat<S> a;     // fq·fk on linear pairs (unscaled by λ), 0 elsewhere  [rows, tile]
  Mat<S> linear;  // 1 on linear pairs, 0 elsewhere (fq·fk may itself be 0)
  Mat<S> logits;
  Vec<S> c, den;
  Mat<S> num;   // [rows, Dv]
};

template <class S>
struct Tensors {
  const S *q, *k, *v, *fq, *fk;
};

// Rows [r0, r1) against keys [k0, r1) (the tile), plus the state (S, z) seen by every row.
template <class S>
BlockTerms<S> block_terms(const HedgehogWindowDims& d, const Plane& p, const Tensors<S>& x, int64_t r0, int64_t r1,
                          int64_t k0, S gamma, S lambda, const Mat<S>& St, const Vec<S>& zt) {
  const int64_t rows = r1 - r0, tile = r1 - k0;
  RowsOf<S> Q(x.q + (p.row0 + r0) * d.D, rows, d.D), K(x.k + (p.row0 + k0) * d.D, tile, d.D);
  RowsOf<S> V(x.v + (p.row0 + k0) * d.Dv, tile, d.Dv);
  RowsOf<S> FQ(x.fq + (p.row0 + r0) * d.F, rows, d.F), FK(x.fk + (p.row0 + k0) * d.F, tile, d.F);
  BlockTerms<S> b;
  b.logits = (Q * K.transpose()) * S(d.scale);
  const bool linear_pairs = d.layout == WindowLayout::sliding || d.window == 0;
  Mat<S> fqk;
  if (linear_pairs) fqk = FQ * FK.transpose();
  b.e = Mat<S>::Zero(rows, tile);
  b.a = Mat<S>::Zero(rows, tile);
  b.linear = Mat<S>::Zero(rows, tile);
  b.c.resize(rows);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t i = r0 + r;
    S c = -std::numeric_limits<S>::infinity();
    for (int64_t t = 0; t < tile; ++t)
      if (pair_kind(d, i, k0 + t) == 1) c = std::max(c, b.logits(r, t));
    b.c(r) = c;
    for (int64_t t = 0; t < tile; ++t) {
      const int kind = pair_kind(d, i, k0 + t);
      if (kind == 1) b.e(r, t) = std::exp(b.logits(r, t) - c);
      if (kind == 2) {
        b.a(r, t) = fqk(r, t);
        b.linear(r, t) = 1;
      }
    }
  }
  const Mat<S> weights = gamma * b.e + lambda * b.a;
  b.num = weights * V + lambda * (FQ * St);
  b.den = weights.rowwise().sum() + lambda * (FQ * zt);
  if (d.window == 0) b.den.array() += S(kernels::kPureLinearEps);
  return b;
}

// S += Σ fk_jᵀ v_j and z += Σ fk_j over rows [r0, r1) of the plane (keys leaving the window).
template <class S>
void fold_rows(const HedgehogWindowDims& d, const Plane& p, const Tensors<S>& x, int64_t r0, int64_t r1, Mat<S>& St,
               Vec<S>& zt) {
  if (r1 <= r0) return;
  RowsOf<S> FK(x.fk + (p.row0 + r0) * d.F, r1 - r0, d.F), V(x.v + (p.row0 + r0) * d.Dv, r1 - r0, d.Dv);
  St.noalias() += FK.transpose() * V;
  zt += FK.colwise().sum().transpose();
}

template <class S>
void fwd_plane(const HedgehogWindowDims& d, const Plane& p, const Tensors<S>& x, S gamma, S lambda, const S* S0,
               const S* z0, S* out, S* S_final, S* z_final) {
  Mat<S> St = S0 ? Mat<S>(RowsOf<S>(S0, d.F, d.Dv)) : Mat<S>::Zero(d.F, d.Dv);
  Vec<S> zt = z0 ? Vec<S>(Eigen::Map<const Vec<S>>(z0, d.F)) : Vec<S>::Zero(d.F);
  const int64_t blocks = int64_t(p.block_start.size()) - 1;
  for (int64_t t = 0; t < blocks; ++t) {
    if (t >= 2) fold_rows(d, p, x, p.block_start[size_t(t - 2)], p.block_start[size_t(t - 1)], St, zt);
    const int64_t r0 = p.block_start[size_t(t)], r1 = p.block_start[size_t(t + 1)];
    const int64_t k0 = p.block_start[size_t(std::max<int64_t>(t - 1, 0))];
    const BlockTerms<S> b = block_terms(d, p, x, r0, r1, k0, gamma, lambda, St, zt);
    MutRowsOf<S>(out + (p.row0 + r0) * d.Dv, r1 - r0, d.Dv) = b.num.array().colwise() / b.den.array();
  }
  if (S_final) {  // S_0 plus every token but the last w (the decoder's window keeps those)
    Mat<S> Sf = S0 ? Mat<S>(RowsOf<S>(S0, d.F, d.Dv)) : Mat<S>::Zero(d.F, d.Dv);
    Vec<S> zf = z0 ? Vec<S>(Eigen::Map<const Vec<S>>(z0, d.F)) : Vec<S>::Zero(d.F);
    fold_rows(d, p, x, 0, std::max<int64_t>(p.length - d.window, 0), Sf, zf);
    MutRowsOf<S>(S_final, d.F, d.Dv) = Sf;
    Eigen::Map<Vec<S>>(z_final, d.F) = zf;
  }
}

template <class S>
struct Grads {
  S *dq, *dk, *dv, *dfq, *dfk;
};

// The gradient fold_rows sends back: rows [r0, r1) folded into a state whose gradient is
// (dS, dz) get dfk += v dSᵀ + dz and dv += fk dS.
template <class S>
void fold_rows_grad(const HedgehogWindowDims& d, const Plane& p, const Tensors<S>& x, const Grads<S>& g, int64_t r0,
                    int64_t r1, const Mat<S>& dS, const Vec<S>& dz) {
  if (r1 <= r0) return;
  const int64_t m = r1 - r0;
  RowsOf<S> FK(x.fk + (p.row0 + r0) * d.F, m, d.F), V(x.v + (p.row0 + r0) * d.Dv, m, d.Dv);
  MutRowsOf<S> dFK(g.dfk + (p.row0 + r0) * d.F, m, d.F);
  dFK.noalias() += V * dS.transpose();
  dFK.rowwise() += dz.transpose();
  MutRowsOf<S>(g.dv + (p.row0 + r0) * d.Dv, m, d.Dv).noalias() += FK * dS;
}

template <class S>
void bwd_plane(const HedgehogWindowDims& d, const Plane& p, const Tensors<S>& x, S gamma, S lambda, const S* S0,
               const S* z0, const S* dout, const S* dS_final, const S* dz_final, const Grads<S>& g, S* dgamma,
               S* dlambda, S* dS0, S* dz0) {
  const int64_t L = p.length;
  const int64_t blocks = int64_t(p.block_start.size()) - 1;
  for (S* t : {g.dq + p.row0 * d.D, g.dk + p.row0 * d.D}) std::fill(t, t + L * d.D, S(0));
  std::fill(g.dv + p.row0 * d.Dv, g.dv + (p.row0 + L) * d.Dv, S(0));
  for (S* t : {g.dfq + p.row0 * d.F, g.dfk + p.row0 * d.F}) std::fill(t, t + L * d.F, S(0));
  // Every row's dy / den and d(den), kept for the reverse sweep of the state's gradient.
  Mat<S> G_all(L, d.Dv);
  Vec<S> dden_all(L);
  S dgam = 0, dlam = 0;

  Mat<S> St = S0 ? Mat<S>(RowsOf<S>(S0, d.F, d.Dv)) : Mat<S>::Zero(d.F, d.Dv);
  Vec<S> zt = z0 ? Vec<S>(Eigen::Map<const Vec<S>>(z0, d.F)) : Vec<S>::Zero(d.F);
  for (int64_t t = 0; t < blocks; ++t) {
    if (t >= 2) fold_rows(d, p, x, p.block_start[size_t(t - 2)], p.block_start[size_t(t - 1)], St, zt);
    const int64_t r0 = p.block_start[size_t(t)], r1 = p.block_start[size_t(t + 1)];
    const int64_t k0 = p.block_start[size_t(std::max<int64_t>(t - 1, 0))];
    const int64_t rows = r1 - r0, tile = r1 - k0;
    const BlockTerms<S> b = block_terms(d, p, x, r0, r1, k0, gamma, lambda, St, zt);
    RowsOf<S> Q(x.q + (p.row0 + r0) * d.D, rows, d.D), K(x.k + (p.row0 + k0) * d.D, tile, d.D);
    RowsOf<S> V(x.v + (p.row0 + k0) * d.Dv, tile, d.Dv);
    RowsOf<S> FQ(x.fq + (p.row0 + r0) * d.F, rows, d.F), FK(x.fk + (p.row0 + k0) * d.F, tile, d.F);
    RowsOf<S> dY(dout + (p.row0 + r0) * d.Dv, rows, d.Dv);
    MutRowsOf<S> dQ(g.dq + (p.row0 + r0) * d.D, rows, d.D), dK(g.dk + (p.row0 + k0) * d.D, tile, d.D);
    MutRowsOf<S> dV(g.dv + (p.row0 + k0) * d.Dv, tile, d.Dv);
    MutRowsOf<S> dFQ(g.dfq + (p.row0 + r0) * d.F, rows, d.F), dFK(g.dfk + (p.row0 + k0) * d.F, tile, d.F);

    // y = num / den: dnum = dy / den = G, dden = −G·y.
    const Mat<S> Y = b.num.array().colwise() / b.den.array();
    const Mat<S> G = dY.array().colwise() / b.den.array();
    const Vec<S> dden = -(G.cwiseProduct(Y)).rowwise().sum();
    G_all.middleRows(r0, rows) = G;
    dden_all.segment(r0, rows) = dden;
    // Each pair's weight w_ij (γ e_ij or λ a_ij) gets dw = G_i·v_j + dden_i.
    Mat<S> dW = G * V.transpose();
    dW.colwise() += dden;
    dV.noalias() += (gamma * b.e + lambda * b.a).transpose() * G;
    // Window pairs: w = γ exp(s − c). ds = dw · w; c takes −Σ ds, passed to the maxima.
    Mat<S> dS = gamma * dW.cwiseProduct(b.e);
    dgam += dW.cwiseProduct(b.e).sum();
    for (int64_t r = 0; r < rows; ++r) {
      const S dc = -dS.row(r).sum();
      int64_t ties = 0;
      for (int64_t c = 0; c < tile; ++c) ties += pair_kind(d, r0 + r, k0 + c) == 1 && b.logits(r, c) == b.c(r);
      for (int64_t c = 0; c < tile; ++c)
        if (pair_kind(d, r0 + r, k0 + c) == 1 && b.logits(r, c) == b.c(r)) dS(r, c) += dc / S(ties);
    }
    dQ.noalias() += S(d.scale) * (dS * K);
    dK.noalias() += S(d.scale) * (dS.transpose() * Q);
    // Linear pairs in the tile (sliding layout): w = λ fq·fk.
    if (d.layout == WindowLayout::sliding || d.window == 0) {
      const Mat<S> dA = dW.cwiseProduct(b.linear);
      dlam += dA.cwiseProduct(b.a).sum();
      dFQ.noalias() += lambda * (dA * FK);
      dFK.noalias() += lambda * (dA.transpose() * FQ);
    }
    // The state: num += λ fq S, den += λ fq·z.
    dFQ.noalias() += lambda * (G * St.transpose() + dden * zt.transpose());
    dlam += (FQ * St).cwiseProduct(G).sum() + dden.dot(FQ * zt);
  }

  // Reverse sweep: block t's keys are in the state of query blocks >= t + 2.
  Mat<S> dSt = Mat<S>::Zero(d.F, d.Dv);
  Vec<S> dzt = Vec<S>::Zero(d.F);
  auto add_queries = [&](int64_t t) {
    const int64_t r0 = p.block_start[size_t(t)], rows = p.block_start[size_t(t + 1)] - r0;
    RowsOf<S> FQ(x.fq + (p.row0 + r0) * d.F, rows, d.F);
    dSt.noalias() += lambda * (FQ.transpose() * G_all.middleRows(r0, rows));
    dzt.noalias() += lambda * (FQ.transpose() * dden_all.segment(r0, rows));
  };
  for (int64_t t = blocks - 1; t >= 0; --t) {
    if (t + 2 < blocks) add_queries(t + 2);
    fold_rows_grad(d, p, x, g, p.block_start[size_t(t)], p.block_start[size_t(t + 1)], dSt, dzt);
  }
  for (int64_t t = 0; t < std::min<int64_t>(2, blocks); ++t) add_queries(t);  // S_0 is seen by every block
  // The final state: S_0 + Σ_{j < l − w} fk_jᵀ v_j.
  if (dS_final) {
    const Mat<S> dSf = RowsOf<S>(dS_final, d.F, d.Dv);
    const Vec<S> dzf = Eigen::Map<const Vec<S>>(dz_final, d.F);
    fold_rows_grad(d, p, x, g, 0, std::max<int64_t>(L - d.window, 0), dSf, dzf);
    dSt += dSf;
    dzt += dzf;
  }
  if (dS0) {
    MutRowsOf<S>(dS0, d.F, d.Dv) = dSt;
    Eigen::Map<Vec<S>>(dz0, d.F) = dzt;
  }
  *dgamma = dgam;
  *dlambda = dlam;
}

template <class S>
const S* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<S>() : nullptr;
}
template <class S>
S* mut_or_null(const Tensor& t) {
  return t.defined() ? t.data<S>() : nullptr;
}

template <class S>
void fwd_typed(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& fq, const Tensor& fk,
               const Tensor& gamma, const Tensor& lambda, const Tensor& S0, const Tensor& z0, const Tensor& out,
               const Tensor& S_final, const Tensor& z_final, const HedgehogWindowDims& d) {
  const Tensors<S> x{q.data<S>(), k.data<S>(), v.data<S>(), fq.data<S>(), fk.data<S>()};
  const int64_t pairs = d.segments * d.H;
#pragma omp parallel for schedule(dynamic)
  for (int64_t sh = 0; sh < pairs; ++sh) {
    const int64_t s = sh / d.H, h = sh % d.H, state = (s * d.H + h);
    const Plane p = plane(d, s, h);
    fwd_plane<S>(d, p, x, gamma.data<S>()[h], lambda.data<S>()[h],
                 S0.defined() ? S0.data<S>() + state * d.F * d.Dv : nullptr,
                 z0.defined() ? z0.data<S>() + state * d.F : nullptr, out.data<S>(),
                 S_final.defined() ? S_final.data<S>() + state * d.F * d.Dv : nullptr,
                 z_final.defined() ? z_final.data<S>() + state * d.F : nullptr);
  }
}

template <class S>
void bwd_typed(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& fq, const Tensor& fk,
               const Tensor& gamma, const Tensor& lambda, const Tensor& S0, const Tensor& z0, const Tensor& dout,
               const Tensor& dS_final, const Tensor& dz_final, const Tensor& dq, const Tensor& dk, const Tensor& dv,
               const Tensor& dfq, const Tensor& dfk, const Tensor& dgamma, const Tensor& dlambda, const Tensor& dS0,
               const Tensor& dz0, const HedgehogWindowDims& d) {
  const Tensors<S> x{q.data<S>(), k.data<S>(), v.data<S>(), fq.data<S>(), fk.data<S>()};
  const Grads<S> g{dq.data<S>(), dk.data<S>(), dv.data<S>(), dfq.data<S>(), dfk.data<S>()};
  const int64_t pairs = d.segments * d.H;
#pragma omp parallel for schedule(dynamic)
  for (int64_t sh = 0; sh < pairs; ++sh) {
    const int64_t s = sh / d.H, h = sh % d.H, state = s * d.H + h;
    const Plane p = plane(d, s, h);
    const int64_t Fv = d.F * d.Dv;
    bwd_plane<S>(d, p, x, gamma.data<S>()[h], lambda.data<S>()[h],
                 S0.defined() ? S0.data<S>() + state * Fv : nullptr, z0.defined() ? z0.data<S>() + state * d.F : nullptr,
                 dout.data<S>(), dS_final.defined() ? dS_final.data<S>() + state * Fv : nullptr,
                 dz_final.defined() ? dz_final.data<S>() + state * d.F : nullptr, g, dgamma.data<S>() + state,
                 dlambda.data<S>() + state, dS0.defined() ? dS0.data<S>() + state * Fv : nullptr,
                 dz0.defined() ? dz0.data<S>() + state * d.F : nullptr);
  }
}

}  // namespace

void hedgehog_window_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& fq, const Tensor& fk,
                         const Tensor& gamma, const Tensor& lambda, const Tensor& S0, const Tensor& z0,
                         const Tensor& out, const Tensor& S_final, const Tensor& z_final, const HedgehogWindowDims& d) {
  if (q.dtype() == DType::f64)
    fwd_typed<double>(q, k, v, fq, fk, gamma, lambda, S0, z0, out, S_final, z_final, d);
  else
    fwd_typed<float>(q, k, v, fq, fk, gamma, lambda, S0, z0, out, S_final, z_final, d);
}

void hedgehog_window_bwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& fq, const Tensor& fk,
                         const Tensor& gamma, const Tensor& lambda, const Tensor& S0, const Tensor& z0,
                         const Tensor& dout, const Tensor& dS_final, const Tensor& dz_final, const Tensor& dq,
                         const Tensor& dk, const Tensor& dv, const Tensor& dfq, const Tensor& dfk, const Tensor& dgamma,
                         const Tensor& dlambda, const Tensor& dS0, const Tensor& dz0, const HedgehogWindowDims& d) {
  if (q.dtype() == DType::f64)
    bwd_typed<double>(q, k, v, fq, fk, gamma, lambda, S0, z0, dout, dS_final, dz_final, dq, dk, dv, dfq, dfk, dgamma,
                      dlambda, dS0, dz0, d);
  else
    bwd_typed<float>(q, k, v, fq, fk, gamma, lambda, S0, z0, dout, dS_final, dz_final, dq, dk, dv, dfq, dfk, dgamma,
                     dlambda, dS0, dz0, d);
}

}  // namespace linea::cpu
