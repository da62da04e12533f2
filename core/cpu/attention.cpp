// CPU fused attention: blocks of 64 query rows of one sequence as Eigen GEMMs against the
// keys they can see (ALiBi added to the scores), softmax in f32 (f64 for f64) in a
// per-thread [64, longest sequence] scratch; bf16/f16 inputs run through f32 copies. The
// backward owns one (kv head, sequence) per task, so dk/dv sum the query heads of its group
// in a fixed order (deterministic) without atomics or partial buffers.
#include <omp.h>

// GCC 12 reports false -Wmaybe-uninitialized inside Eigen's inlined AVX-512 GEMM kernels
// (see core/cpu/matmul.cpp); the diagnostic must stay off for the whole file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Core>
#include <algorithm>
#include <vector>

#include "core/cpu/rowwise.h"
#include "core/kernels/attention.h"

namespace linea::cpu {
namespace {

constexpr int64_t kQueryBlock = 64;

template <class A>
using Mat = Eigen::Matrix<A, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class A>
using ConstMap = Eigen::Map<const Mat<A>>;
template <class A>
using OutMap = Eigen::Map<Mat<A>>;

// One sequence of one batch entry: its rows in every (b, head) plane start at row t0.
struct Segment {
  int64_t b, t0, length;
};

std::vector<Segment> segments_of(const AttentionDims& d) {
  std::vector<Segment> s;
  for (int64_t i = 0; i < d.segments; ++i) s.push_back({d.seg_start[i] / d.T, d.seg_start[i] % d.T, d.seg_length[i]});
  return s;
}

// A forward task: query rows [i0, i0 + kQueryBlock) of one segment (for every head).
struct QueryBlock {
  int64_t segment, i0;
};

// Keys [first, first + n) seen by some query row of [i0, i0 + m) in a segment of length L.
struct KeyRange {
  int64_t first, n;
};
KeyRange block_keys(const AttentionDims& d, int64_t L, int64_t i0, int64_t m) {
  const int64_t first = first_key(d, i0);
  return {first, last_key(d, i0 + m - 1, L) - first};
}

// Threads pay off once there are ~L^2 D multiply-adds per head to share.
bool worth_threads(const AttentionDims& d, const std::vector<Segment>& segs) {
  int64_t work = 0;
  for (const Segment& s : segs) work += s.length * (d.window > 0 ? std::min(s.length, d.window) : s.length);
  return work * d.H * d.D > kRowParallelGrain;
}

// Scores of query rows i0.. (row r is position i0 + r) against keys j0..j0+n-1 of the
// same segment, plus ALiBi's -slope * |i - j|.
template <class A>
void add_alibi(A* s, int64_t m, int64_t n, int64_t i0, int64_t j0, float slope) {
  for (int64_t r = 0; r < m; ++r) {
    A* row = s + r * n;
    const int64_t i = i0 + r - j0;  // the query's position relative to key j0
#pragma omp simd
    for (int64_t c = 0; c < n; ++c) row[c] -= A(slope) * A(c > i ? c - i : i - c);
  }
}

// q [B,H,T,D], out [B,H,T,Dv], k [B,Hkv,T,D], v [B,Hkv,T,Dv], lse [B,H,T]; one task per
// (head, segment, query block).
template <class A>
void forward(const A* q, const A* k, const A* v, A* out, A* lse, const AttentionDims& d) {
  const int64_t T = d.T, D = d.D, Dv = d.Dv, group = d.H / d.Hkv;
  const A scale = A(d.scale);
  const std::vector<Segment> segs = segments_of(d);
  std::vector<QueryBlock> blocks;
  for (int64_t s = 0; s < int64_t(segs.size()); ++s)
    for (int64_t i0 = 0; i0 < segs[size_t(s)].length; i0 += kQueryBlock) blocks.push_back({s, i0});
  if (!d.covers_all) {  // padding rows: out = 0, lse = 0
    std::fill(out, out + d.B * d.H * T * Dv, A(0));
    std::fill(lse, lse + d.B * d.H * T, A(0));
  }
  const int64_t nblocks = int64_t(blocks.size());
#pragma omp parallel if (worth_threads(d, segs))
  {
    std::vector<A> scratch(kQueryBlock * d.max_length), inv_sum(kQueryBlock);
#pragma omp for schedule(dynamic)
    for (int64_t task = 0; task < d.H * nblocks; ++task) {
      const int64_t h = task / nblocks;
      const QueryBlock qb = blocks[size_t(task % nblocks)];
      const Segment& sg = segs[size_t(qb.segment)];
      const int64_t i0 = qb.i0, m = std::min(kQueryBlock, sg.length - i0);
      const auto [j0, n] = block_keys(d, sg.length, i0, m);
      const int64_t qrow0 = (sg.b * d.H + h) * T + sg.t0, kvrow0 = (sg.b * d.Hkv + h / group) * T + sg.t0 + j0;
      ConstMap<A> Q(q + (qrow0 + i0) * D, m, D), K(k + kvrow0 * D, n, D), V(v + kvrow0 * Dv, n, Dv);
      OutMap<A> S(scratch.data(), m, n);  // scores, then unnormalized probabilities
      S.noalias() = (Q * K.transpose()) * scale;
      if (d.alibi) add_alibi(scratch.data(), m, n, i0, j0, d.alibi[h]);
      for (int64_t r = 0; r < m; ++r) {
        A* s = scratch.data() + r * n;
        const int64_t lo = first_key(d, i0 + r) - j0, hi = last_key(d, i0 + r, sg.length) - j0;
        const A mx = row_max<A, A>(s + lo, hi - lo);
        const A sum = blocked_sum<A>(hi - lo, [&](int64_t c) {
          s[lo + c] = exp_nonpos<A>(s[lo + c] - mx);
          return s[lo + c];
        });
        std::fill(s, s + lo, A(0));
        std::fill(s + hi, s + n, A(0));
        lse[qrow0 + i0 + r] = mx + std::log(sum);
        inv_sum[r] = A(1) / sum;
      }
      OutMap<A> O(out + (qrow0 + i0) * Dv, m, Dv);
      O.noalias() = S * V;
      for (int64_t r = 0; r < m; ++r) O.row(r) *= inv_sum[r];
    }
  }
}

// dq/dout/out like q, dk/dv like k. One task per (kv head, segment): it owns those dk/dv
// rows and walks the query heads of the group and their query blocks, recomputing P from lse.
template <class A>
void backward(const A* q, const A* k, const A* v, const A* out, const A* lse, const A* dout, A* dq, A* dk, A* dv,
              const AttentionDims& d) {
  const int64_t T = d.T, D = d.D, Dv = d.Dv, group = d.H / d.Hkv;
  const A scale = A(d.scale);
  const std::vector<Segment> segs = segments_of(d);
  const int64_t nsegs = int64_t(segs.size());
  if (!d.covers_all) {  // padding rows get zero gradients
    std::fill(dq, dq + d.B * d.H * T * D, A(0));
    std::fill(dk, dk + d.B * d.Hkv * T * D, A(0));
    std::fill(dv, dv + d.B * d.Hkv * T * Dv, A(0));
  }
#pragma omp parallel if (worth_threads(d, segs))
  {
    std::vector<A> p_buf(kQueryBlock * d.max_length), ds_buf(kQueryBlock * d.max_length);
#pragma omp for schedule(dynamic)
    for (int64_t task = 0; task < d.Hkv * nsegs; ++task) {
      const int64_t kvh = task / nsegs;
      const Segment& sg = segs[size_t(task % nsegs)];
      const int64_t L = sg.length, kvrow0 = (sg.b * d.Hkv + kvh) * T + sg.t0;
      OutMap<A> dK(dk + kvrow0 * D, L, D), dV(dv + kvrow0 * Dv, L, Dv);
      dK.setZero();
      dV.setZero();
      for (int64_t g = 0; g < group; ++g) {
        const int64_t h = kvh * group + g, qrow0 = (sg.b * d.H + h) * T + sg.t0;
        for (int64_t i0 = 0; i0 < L; i0 += kQueryBlock) {
          const int64_t m = std::min(kQueryBlock, L - i0), row0 = qrow0 + i0;
          const auto [j0, n] = block_keys(d, L, i0, m);
          ConstMap<A> Q(q + row0 * D, m, D), dO(dout + row0 * Dv, m, Dv);
          ConstMap<A> K(k + (kvrow0 + j0) * D, n, D), V(v + (kvrow0 + j0) * Dv, n, Dv);
          OutMap<A> P(p_buf.data(), m, n), dS(ds_buf.data(), m, n);
          P.noalias() = (Q * K.transpose()) * scale;
          if (d.alibi) add_alibi(p_buf.data(), m, n, i0, j0, d.alibi[h]);
          dS.noalias() = dO * V.transpose();  // dP, turned into dS row by row
          for (int64_t r = 0; r < m; ++r) {
            A* p = p_buf.data() + r * n;
            A* ds = ds_buf.data() + r * n;
            const int64_t lo = first_key(d, i0 + r) - j0, hi = last_key(d, i0 + r, L) - j0;
            const A l = lse[row0 + r];
            const A* o_r = out + (row0 + r) * Dv;
            const A* do_r = dout + (row0 + r) * Dv;
            A di = 0;
#pragma omp simd reduction(+ : di)
            for (int64_t c = 0; c < Dv; ++c) di += o_r[c] * do_r[c];
#pragma omp simd
            for (int64_t c = lo; c < hi; ++c) {
              p[c] = exp_nonpos<A>(p[c] - l);
              ds[c] = p[c] * (ds[c] - di) * scale;  // scale folded in: dq = dS k, dk = dS^T q
            }
            for (int64_t c = 0; c < lo; ++c) p[c] = ds[c] = 0;
            for (int64_t c = hi; c < n; ++c) p[c] = ds[c] = 0;
          }
          OutMap<A>(dq + row0 * D, m, D).noalias() = dS * K;
          dV.middleRows(j0, n).noalias() += P.transpose() * dO;
          dK.middleRows(j0, n).noalias() += dS.transpose() * Q;
        }
      }
    }
  }
}

template <class A>
const A* ptr(const Tensor& t) {
  return static_cast<const A*>(t.data_ptr());
}
template <class A>
A* mut(const Tensor& t) {
  return static_cast<A*>(t.data_ptr());
}
Tensor f32(const Tensor& t) { return t.to(DType::f32); }
Tensor f32_like(const Tensor& t) { return Tensor::empty(t.shape(), DType::f32); }

}  // namespace

void attention_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& lse,
                   const AttentionDims& d) {
  dispatch_floating(q.dtype(), "attention", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (is_half_v<T>) {
      Tensor o = f32_like(out);
      forward<float>(ptr<float>(f32(q)), ptr<float>(f32(k)), ptr<float>(f32(v)), mut<float>(o), mut<float>(lse), d);
      Tensor(out).copy_(o);
    } else {
      forward<T>(ptr<T>(q), ptr<T>(k), ptr<T>(v), mut<T>(out), mut<T>(lse), d);
    }
  });
}

void attention_bwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& lse,
                   const Tensor& dout, const Tensor& dq, const Tensor& dk, const Tensor& dv, const AttentionDims& d) {
  dispatch_floating(q.dtype(), "attention backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (is_half_v<T>) {
      Tensor gq = f32_like(dq), gk = f32_like(dk), gv = f32_like(dv);
      backward<float>(ptr<float>(f32(q)), ptr<float>(f32(k)), ptr<float>(f32(v)), ptr<float>(f32(out)),
                      ptr<float>(lse), ptr<float>(f32(dout)), mut<float>(gq), mut<float>(gk), mut<float>(gv), d);
      Tensor(dq).copy_(gq);
      Tensor(dk).copy_(gk);
      Tensor(dv).copy_(gv);
    } else {
      backward<T>(ptr<T>(q), ptr<T>(k), ptr<T>(v), ptr<T>(out), ptr<T>(lse), ptr<T>(dout), mut<T>(dq), mut<T>(dk),
                  mut<T>(dv), d);
    }
  });
}

}  // namespace linea::cpu
