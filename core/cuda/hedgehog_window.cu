// CUDA hybrid window + linear attention (core/kernels/hedgehog_window.h). Row i's keys split
// at ws_i: [ws_i, i] is its softmax window, [0, ws_i) its linear part (sliding: ws_i =
// max(0, i-w+1); terrace: the start of the block before i's; window 0: ws_i = i+1). The
// linear part is computed as the inclusive linear attention of every key up to i minus the
// window's own linear terms:
//   L_i = fq_i·(S0 + Σ_{j<=i} fk_jᵀ [v_j, 1]) − Σ_{j∈[ws_i,i]} (fq_i·fk_j) [v_j, 1],
// the first term one causal sweep without decay (core/cuda/linear_sweep.cuh, in f32 whatever
// the input dtype, since the difference cancels), the second summed beside the softmax window:
//   y_i = (γ Σ_W e_ij v_j + λ L_i[:Dv]) / (γ Σ_W e_ij + λ L_i[Dv]).
// The final state S0 + Σ_{j<l-w} fk_jᵀ v_j is the sweep's final state minus the last w keys.
// The backward runs the same split: a row kernel gives the window terms' gradients and
// dL_i = λ [G_i, dden_i] (G = dy / den, dden = −G·y), which the sweep's backward (Lightning's
// role table) turns into the linear part's gradients; a last kernel adds the two and removes
// the final state's last-w keys. The window kernels take one warp per query row (lane j a
// key, or lanes the feature/value dims); key gradients gather with f32 atomicAdd (run-to-run
// differences in the last bits); gradients of γ and λ are per-row, summed per (sequence, head)
// in row order. The row kernels read each window key's rows from global memory (cached): a
// correctness-first twin of the CPU kernel, not yet a tuned one.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "core/cuda/rowwise.cuh"
#include "core/cuda/sequence_kernels.cuh"
#include "core/kernels/concat.h"
#include "core/kernels/hedgehog_window.h"
#include "core/kernels/lightning_attention.h"

namespace linea::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int64_t kMaxDim = 256;  // D, Dv and F: up to 8 values per lane

struct RowLayout {
  int64_t H, T, D, Dv, F, N, window;
  bool terrace;
  float scale;
  const int64_t* seg;  // [2, N]
};

// Where warp (blockIdx, warp) works: sequence s, head h, position p (< len), flat row.
struct Row {
  int64_t s, h, p, len, row0;
  __device__ int64_t row() const { return row0 + p; }
};

__device__ __forceinline__ bool locate(const RowLayout& l, Row& r) {
  r.s = blockIdx.x;
  r.h = blockIdx.y;
  r.p = int64_t(blockIdx.z) * kWarps + (threadIdx.x >> 5);
  r.len = l.seg[l.N + r.s];
  const int64_t start = l.seg[r.s];
  r.row0 = (start / l.T * l.H + r.h) * l.T + start % l.T;
  return r.p < r.len;
}

template <class E>
__device__ __forceinline__ float dot_row(const float* x, const E* y, int64_t n) {
  float acc = 0.f;
  for (int64_t c = 0; c < n; ++c) acc += x[c] * load_as<float, E>(y[c]);
  return acc;
}

// The window sums of one row: c (max logit), Σ e, Σ a (a = fq·fk), and per lane the value
// dims lane + 32 u of Σ e v and Σ a v. qs, fqs: the row's q and fq in shared memory.
template <class E, int P>
struct WindowSums {
  float c = -INFINITY, se = 0.f, az = 0.f;
  float ne[P] = {}, aw[P] = {};
};

template <class E, int P>
__device__ WindowSums<E, P> window_sums(const E* k, const E* v, const E* fk, const float* qs, const float* fqs,
                                        int64_t row0, int64_t ws, int64_t p, const RowLayout& l, int lane) {
  WindowSums<E, P> w;
  for (int64_t j = ws + lane; j <= p; j += 32)
    w.c = fmaxf(w.c, l.scale * dot_row(qs, k + (row0 + j) * l.D, l.D));
  w.c = warp_reduce(w.c, MaxOp());
  for (int64_t j0 = ws; j0 <= p; j0 += 32) {
    const int64_t j = j0 + lane;
    float e = 0.f, a = 0.f;
    if (j <= p) {
      e = expf(l.scale * dot_row(qs, k + (row0 + j) * l.D, l.D) - w.c);
      a = dot_row(fqs, fk + (row0 + j) * l.F, l.F);
    }
    w.se += e;
    w.az += a;
    const int n = int(min(int64_t(32), p + 1 - j0));
    for (int jj = 0; jj < n; ++jj) {
      const float ej = __shfl_sync(0xffffffffu, e, jj), aj = __shfl_sync(0xffffffffu, a, jj);
      const E* vr = v + (row0 + j0 + jj) * l.Dv;
#pragma unroll
      for (int u = 0; u < P; ++u) {
        const int64_t dim = lane + 32 * u;
        if (dim < l.Dv) {
          const float vv = load_as<float, E>(vr[dim]);
          w.ne[u] += ej * vv;
          w.aw[u] += aj * vv;
        }
      }
    }
  }
  w.se = warp_reduce(w.se, SumOp());
  w.az = warp_reduce(w.az, SumOp());
  return w;
}

// The row's q and fq into the warp's slice of shared memory (D + F floats).
template <class E>
__device__ void stage_row(float* qs, float* fqs, const E* q, const E* fq, int64_t row, const RowLayout& l, int lane) {
  for (int64_t c = lane; c < l.D; c += 32) qs[c] = load_as<float, E>(q[row * l.D + c]);
  for (int64_t c = lane; c < l.F; c += 32) fqs[c] = load_as<float, E>(fq[row * l.F + c]);
  __syncwarp();
}

// lin [rows, Dv+1] f32: the sweep's inclusive linear attention of every row.
template <class E, int P>
__global__ void __launch_bounds__(32 * kWarps)
    window_fwd_kernel(const E* q, const E* k, const E* v, const E* fq, const E* fk, const E* gamma, const E* lambda,
                      const float* lin, E* out, RowLayout l) {
  extern __shared__ float smem[];
  Row r;
  if (!locate(l, r)) return;  // warps never synchronise with each other here
  const int lane = threadIdx.x & 31;
  float* qs = smem + (threadIdx.x >> 5) * (l.D + l.F);
  float* fqs = qs + l.D;
  stage_row(qs, fqs, q, fq, r.row(), l, lane);
  const int64_t ws = kernels::hedgehog_window_start(r.p, r.len, l.window, l.terrace);
  const WindowSums<E, P> w = window_sums<E, P>(k, v, fk, qs, fqs, r.row0, ws, r.p, l, lane);
  const float g = load_as<float, E>(gamma[r.h]), lam = load_as<float, E>(lambda[r.h]);
  const float* L = lin + r.row() * (l.Dv + 1);
  const float den = g * w.se + lam * (L[l.Dv] - w.az) + (l.window == 0 ? float(kernels::kPureLinearEps) : 0.f);
#pragma unroll
  for (int u = 0; u < P; ++u) {
    const int64_t dim = lane + 32 * u;
    if (dim < l.Dv) out[r.row() * l.Dv + dim] = store_as<E, float>((g * w.ne[u] + lam * (L[dim] - w.aw[u])) / den);
  }
}

// Outputs (f32): dq_w [rows, D] and dfq_w [rows, F] written per row; dk_w, dfk_w, dv_w
// accumulated by atomicAdd (zeroed); dlin [rows, Dv+1]; dgam_row, dlam_row [rows].
template <class E, int P>
__global__ void __launch_bounds__(32 * kWarps)
    window_bwd_kernel(const E* q, const E* k, const E* v, const E* fq, const E* fk, const E* gamma, const E* lambda,
                      const float* lin, const E* dout, E* dq, float* dfq_w, float* dk_w, float* dfk_w, float* dv_w,
                      float* dlin, float* dgam_row, float* dlam_row, RowLayout l) {
  extern __shared__ float smem[];
  Row r;
  if (!locate(l, r)) return;
  const int lane = threadIdx.x & 31;
  float* qs = smem + (threadIdx.x >> 5) * (l.D + l.F + l.Dv);
  float* fqs = qs + l.D;
  float* gs = fqs + l.F;  // G = dy / den, all Dv dims, for the lanes' per-key dots
  stage_row(qs, fqs, q, fq, r.row(), l, lane);
  const int64_t ws = kernels::hedgehog_window_start(r.p, r.len, l.window, l.terrace), row = r.row();
  const WindowSums<E, P> w = window_sums<E, P>(k, v, fk, qs, fqs, r.row0, ws, r.p, l, lane);
  const float g = load_as<float, E>(gamma[r.h]), lam = load_as<float, E>(lambda[r.h]);
  const float* L = lin + row * (l.Dv + 1);
  const float lz = L[l.Dv] - w.az;
  const float den = g * w.se + lam * lz + (l.window == 0 ? float(kernels::kPureLinearEps) : 0.f);
  float G[P], gy = 0.f, gl = 0.f;
#pragma unroll
  for (int u = 0; u < P; ++u) {
    const int64_t dim = lane + 32 * u;
    G[u] = 0.f;
    if (dim >= l.Dv) continue;
    const float ln = L[dim] - w.aw[u], y = (g * w.ne[u] + lam * ln) / den;
    G[u] = load_as<float, E>(dout[row * l.Dv + dim]) / den;
    gs[dim] = G[u];
    gy += G[u] * y;
    gl += G[u] * ln;
  }
  const float dden = -warp_reduce(gy, SumOp());
  gl = warp_reduce(gl, SumOp());
#pragma unroll
  for (int u = 0; u < P; ++u) {
    const int64_t dim = lane + 32 * u;
    if (dim < l.Dv) dlin[row * (l.Dv + 1) + dim] = lam * G[u];
  }
  if (lane == 0) {
    dlin[row * (l.Dv + 1) + l.Dv] = lam * dden;
    dlam_row[row] = gl + dden * lz;
  }
  __syncwarp();
  // Window pairs: coefficient γ e_j − λ a_j on v_j and on the denominator, dcoef_j = G·v_j + dden.
  // First pass: Σ ds (ds_j = γ e_j dcoef_j) and the number of maxima, for c's gradient.
  float sum_ds = 0.f, ties = 0.f, dgam = 0.f;
  for (int64_t j = ws + lane; j <= r.p; j += 32) {
    const float s = l.scale * dot_row(qs, k + (r.row0 + j) * l.D, l.D), e = expf(s - w.c);
    const float dcoef = dot_row(gs, v + (r.row0 + j) * l.Dv, l.Dv) + dden;
    sum_ds += g * e * dcoef;
    dgam += e * dcoef;
    ties += s == w.c ? 1.f : 0.f;
  }
  const float dc = -warp_reduce(sum_ds, SumOp()) / fmaxf(1.f, warp_reduce(ties, SumOp()));
  dgam = warp_reduce(dgam, SumOp());
  if (lane == 0) dgam_row[row] = dgam;
  float dqa[P] = {}, dfqa[P] = {};
  for (int64_t j0 = ws; j0 <= r.p; j0 += 32) {
    const int64_t j = j0 + lane;
    float ds = 0.f, da = 0.f, coef = 0.f;
    if (j <= r.p) {
      const float s = l.scale * dot_row(qs, k + (r.row0 + j) * l.D, l.D), e = expf(s - w.c);
      const float a = dot_row(fqs, fk + (r.row0 + j) * l.F, l.F);
      const float dcoef = dot_row(gs, v + (r.row0 + j) * l.Dv, l.Dv) + dden;
      ds = g * e * dcoef + (s == w.c ? dc : 0.f);
      da = -lam * dcoef;
      coef = g * e - lam * a;
    }
    const int n = int(min(int64_t(32), r.p + 1 - j0));
    for (int jj = 0; jj < n; ++jj) {
      const float dsj = __shfl_sync(0xffffffffu, ds, jj), daj = __shfl_sync(0xffffffffu, da, jj),
                  cj = __shfl_sync(0xffffffffu, coef, jj);
      const int64_t key = r.row0 + j0 + jj;
#pragma unroll
      for (int u = 0; u < P; ++u) {
        const int64_t dim = lane + 32 * u;
        if (dim < l.D) {
          dqa[u] += dsj * load_as<float, E>(k[key * l.D + dim]);
          atomicAdd(dk_w + key * l.D + dim, l.scale * dsj * qs[dim]);
        }
        if (dim < l.F) {
          dfqa[u] += daj * load_as<float, E>(fk[key * l.F + dim]);
          atomicAdd(dfk_w + key * l.F + dim, daj * fqs[dim]);
        }
        if (dim < l.Dv) atomicAdd(dv_w + key * l.Dv + dim, cj * G[u]);
      }
    }
  }
#pragma unroll
  for (int u = 0; u < P; ++u) {
    const int64_t dim = lane + 32 * u;
    if (dim < l.D) dq[row * l.D + dim] = store_as<E, float>(l.scale * dqa[u]);
    if (dim < l.F) dfq_w[row * l.F + dim] = dfqa[u];
  }
}

// The final state: the sweep's state after every key minus the last w keys' terms.
// One block per (sequence, head); x_all [N, H, F, Dv+1] f32.
template <class E>
__global__ void final_state_kernel(const float* x_all, const float* fk, const float* v1, E* S_final, E* z_final,
                                   RowLayout l) {
  const int64_t s = blockIdx.x, h = blockIdx.y, len = l.seg[l.N + s], start = l.seg[s];
  const int64_t row0 = (start / l.T * l.H + h) * l.T + start % l.T, cut = max(int64_t(0), len - l.window);
  const int64_t plane = s * l.H + h, C = l.Dv + 1;
  for (int64_t i = threadIdx.x; i < l.F * C; i += blockDim.x) {
    const int64_t f = i / C, c = i % C;
    float acc = x_all[plane * l.F * C + i];
    if (l.window > 0)
      for (int64_t p = cut; p < len; ++p) acc -= fk[(row0 + p) * l.F + f] * v1[(row0 + p) * C + c];
    if (c < l.Dv) S_final[(plane * l.F + f) * l.Dv + c] = store_as<E, float>(acc);
    else z_final[plane * l.F + f] = store_as<E, float>(acc);
  }
}

// The gradients' two halves added, minus the final state's last-w keys (dX [N, H, F, Dv+1]
// f32 or null); 8 rows per block of 256 threads, grid (N, H, rows / 8).
template <class E>
__global__ void combine_kernel(const float* dk_w, const float* dv_w, const float* dfq_w, const float* dfk_w,
                               const float* dfq_l, const float* dfk_l, const float* dv1_l, const float* fk,
                               const float* v1, const float* dX, E* dk, E* dv, E* dfq, E* dfk, RowLayout l) {
  const int64_t s = blockIdx.x, h = blockIdx.y, p = int64_t(blockIdx.z) * 8 + (threadIdx.x >> 5);
  const int64_t len = l.seg[l.N + s], start = l.seg[s];
  if (p >= len) return;
  const int64_t row = (start / l.T * l.H + h) * l.T + start % l.T + p, C = l.Dv + 1;
  const float* dx = dX ? dX + (s * l.H + h) * l.F * C : nullptr;
  const bool tail = dx && l.window > 0 && p >= len - l.window;
  const int lane = threadIdx.x & 31;
  for (int64_t d = lane; d < l.D; d += 32) dk[row * l.D + d] = store_as<E, float>(dk_w[row * l.D + d]);
  for (int64_t c = lane; c < l.Dv; c += 32) {
    float acc = dv_w[row * l.Dv + c] + dv1_l[row * C + c];
    if (tail)
      for (int64_t f = 0; f < l.F; ++f) acc -= fk[row * l.F + f] * dx[f * C + c];
    dv[row * l.Dv + c] = store_as<E, float>(acc);
  }
  for (int64_t f = lane; f < l.F; f += 32) {
    dfq[row * l.F + f] = store_as<E, float>(dfq_w[row * l.F + f] + dfq_l[row * l.F + f]);
    float acc = dfk_w[row * l.F + f] + dfk_l[row * l.F + f];
    if (tail)
      for (int64_t c = 0; c < C; ++c) acc -= dx[f * C + c] * v1[row * C + c];
    dfk[row * l.F + f] = store_as<E, float>(acc);
  }
}

// Per (sequence, head): the sum of its rows' dγ and dλ, in row order per lane then a warp sum.
template <class E>
__global__ void sum_rows_kernel(const float* dgam_row, const float* dlam_row, E* dgamma, E* dlambda, RowLayout l) {
  const int64_t s = blockIdx.x, h = blockIdx.y, len = l.seg[l.N + s], start = l.seg[s];
  const int64_t row0 = (start / l.T * l.H + h) * l.T + start % l.T;
  float g = 0.f, a = 0.f;
  for (int64_t p = threadIdx.x; p < len; p += 32) {
    g += dgam_row[row0 + p];
    a += dlam_row[row0 + p];
  }
  g = warp_reduce(g, SumOp());
  a = warp_reduce(a, SumOp());
  if (threadIdx.x == 0) {
    dgamma[s * l.H + h] = store_as<E, float>(g);
    dlambda[s * l.H + h] = store_as<E, float>(a);
  }
}

template <class Fn>
void dispatch_per_lane(const HedgehogWindowDims& d, const char* op, Fn&& fn) {
  const int64_t widest = std::max({d.D, d.Dv, d.F});
  LINEA_CHECK(widest <= kMaxDim, op, ": the CUDA kernel takes head, value and feature dims up to ", kMaxDim, ", got D ",
              d.D, ", Dv ", d.Dv, ", F ", d.F);
  if (widest <= 32) return fn(std::integral_constant<int, 1>{});
  if (widest <= 64) return fn(std::integral_constant<int, 2>{});
  if (widest <= 128) return fn(std::integral_constant<int, 4>{});
  return fn(std::integral_constant<int, 8>{});
}

// What both directions share: the device tables, f32 copies of fq and fk, v with a column of
// ones (so the sweep's last column is z), the initial state as [S0, z0], and the sweep's
// inclusive linear attention of every row.
struct Prepared {
  Tensor segments, fq, fk, v1, x0, lin, x_all;
  RowLayout layout;
  LightningDims sweep;
  int64_t longest;
};

Tensor f32(const Tensor& t) { return t.dtype() == DType::f32 ? t : t.to(DType::f32); }

void prepare(const char* op, Prepared& pr, const Tensor& fq, const Tensor& fk, const Tensor& v, const Tensor& S0,
             const Tensor& z0, bool final_state, const HedgehogWindowDims& d) {
  LINEA_CHECK(d.segments <= 0x7fffffff && d.H <= 65535, op, ": ", d.segments, " sequences x ", d.H,
              " heads are out of range for the CUDA kernel");
  const Device dev = fq.device();
  pr.segments = upload_segment_table(d.seg_start, d.seg_length, d.segments, dev);
  pr.fq = f32(fq);
  pr.fk = f32(fk);
  pr.v1 = kernels::concat({f32(v), Tensor::full({d.B, d.H, d.T, 1}, 1.0, DType::f32, dev)}, 3);
  if (S0.defined()) pr.x0 = kernels::concat({f32(S0), f32(z0).unsqueeze(3)}, 3);
  pr.lin = Tensor::zeros({d.B, d.H, d.T, d.Dv + 1}, DType::f32, dev);
  if (final_state) pr.x_all = Tensor::empty({d.segments, d.H, d.F, d.Dv + 1}, DType::f32, dev);
  pr.longest = d.segments ? *std::max_element(d.seg_length, d.seg_length + d.segments) : 0;
  LINEA_CHECK((pr.longest + kWarps - 1) / kWarps <= 65535, op, ": a sequence of ", pr.longest,
              " tokens is too long for the CUDA kernel (at most ", 65535 * kWarps, ")");
  pr.layout = RowLayout{d.H,        d.T,        d.D,
                        d.Dv,       d.F,        d.segments,
                        d.window,   d.layout == kernels::WindowLayout::terrace,
                        float(d.scale), cptr<int64_t>(pr.segments)};
  pr.sweep = LightningDims{d.B, d.H, d.T, d.F, d.Dv + 1, 64, nullptr, d.seg_start, d.seg_length, d.segments, false, true};
  if (d.segments > 0) lightning_attn_fwd(pr.fq, pr.fk, pr.v1, pr.lin, pr.x0, pr.x_all, pr.sweep);
}

dim3 row_grid(const Prepared& pr, int rows_per_block) {
  return dim3(unsigned(pr.layout.N), unsigned(pr.layout.H),
              unsigned(std::max<int64_t>(1, (pr.longest + rows_per_block - 1) / rows_per_block)));
}

}  // namespace

void hedgehog_window_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& fq, const Tensor& fk,
                         const Tensor& gamma, const Tensor& lambda, const Tensor& S0, const Tensor& z0,
                         const Tensor& out, const Tensor& S_final, const Tensor& z_final, const HedgehogWindowDims& d) {
  const char* op = "hedgehog_window_fwd";
  Prepared pr;
  prepare(op, pr, fq, fk, v, S0, z0, S_final.defined(), d);
  if (d.segments == 0) return;
  const size_t smem = sizeof(float) * size_t(kWarps * (d.D + d.F));
  dispatch_dtype(q.dtype(), op, [&](auto tag) {
    using E = typename decltype(tag)::type;
    dispatch_per_lane(d, op, [&](auto per_lane) {
      constexpr int P = decltype(per_lane)::value;
      window_fwd_kernel<E, P><<<row_grid(pr, kWarps), 32 * kWarps, smem, stream()>>>(
          cptr<E>(q), cptr<E>(k), cptr<E>(v), cptr<E>(fq), cptr<E>(fk), cptr<E>(gamma), cptr<E>(lambda),
          cptr<float>(pr.lin), mptr<E>(out), pr.layout);
    });
    LINEA_CUDA_LAUNCH_CHECK();
    if (S_final.defined())
      final_state_kernel<E><<<dim3(unsigned(d.segments), unsigned(d.H)), 256, 0, stream()>>>(
          cptr<float>(pr.x_all), cptr<float>(pr.fk), cptr<float>(pr.v1), mptr<E>(S_final), mptr<E>(z_final),
          pr.layout);
  });
  LINEA_CUDA_LAUNCH_CHECK();
}

void hedgehog_window_bwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& fq, const Tensor& fk,
                         const Tensor& gamma, const Tensor& lambda, const Tensor& S0, const Tensor& z0,
                         const Tensor& dout, const Tensor& dS_final, const Tensor& dz_final, const Tensor& dq,
                         const Tensor& dk, const Tensor& dv, const Tensor& dfq, const Tensor& dfk, const Tensor& dgamma,
                         const Tensor& dlambda, const Tensor& dS0, const Tensor& dz0, const HedgehogWindowDims& d) {
  const char* op = "hedgehog_window_bwd";
  Prepared pr;
  prepare(op, pr, fq, fk, v, S0, z0, false, d);
  const Device dev = q.device();
  auto zeros = [&](const Shape& s) { return Tensor::zeros(s, DType::f32, dev); };
  const Tensor dk_w = zeros(k.shape()), dv_w = zeros(v.shape()), dfk_w = zeros(fk.shape()), dfq_w = zeros(fq.shape());
  const Tensor dlin = zeros({d.B, d.H, d.T, d.Dv + 1}), dgam_row = zeros({d.B, d.H, d.T}),
               dlam_row = zeros({d.B, d.H, d.T});
  if (d.segments == 0) {
    Tensor(dgamma).zero_();
    Tensor(dlambda).zero_();
    return;
  }
  const size_t smem = sizeof(float) * size_t(kWarps * (d.D + d.F + d.Dv));
  dispatch_dtype(q.dtype(), op, [&](auto tag) {
    using E = typename decltype(tag)::type;
    dispatch_per_lane(d, op, [&](auto per_lane) {
      constexpr int P = decltype(per_lane)::value;
      window_bwd_kernel<E, P><<<row_grid(pr, kWarps), 32 * kWarps, smem, stream()>>>(
          cptr<E>(q), cptr<E>(k), cptr<E>(v), cptr<E>(fq), cptr<E>(fk), cptr<E>(gamma), cptr<E>(lambda),
          cptr<float>(pr.lin), cptr<E>(dout), mptr<E>(dq), mptr<float>(dfq_w), mptr<float>(dk_w), mptr<float>(dfk_w),
          mptr<float>(dv_w), mptr<float>(dlin), mptr<float>(dgam_row), mptr<float>(dlam_row), pr.layout);
    });
    LINEA_CUDA_LAUNCH_CHECK();
  });
  // The linear part through the sweep's backward: d[S0, z0] comes back as its initial state's gradient.
  const Tensor dX = dS_final.defined() ? kernels::concat({f32(dS_final), f32(dz_final).unsqueeze(3)}, 3) : Tensor();
  const Tensor dfq_l = zeros(fq.shape()), dfk_l = zeros(fk.shape()), dv1_l = zeros(pr.v1.shape());
  const Tensor dx0 = S0.defined() ? Tensor::empty(pr.x0.shape(), DType::f32, dev) : Tensor();
  lightning_attn_bwd(pr.fq, pr.fk, pr.v1, dlin, pr.x0, dX, dfq_l, dfk_l, dv1_l, dx0, pr.sweep);
  dispatch_dtype(q.dtype(), op, [&](auto tag) {
    using E = typename decltype(tag)::type;
    combine_kernel<E><<<row_grid(pr, 8), 256, 0, stream()>>>(
        cptr<float>(dk_w), cptr<float>(dv_w), cptr<float>(dfq_w), cptr<float>(dfk_w), cptr<float>(dfq_l),
        cptr<float>(dfk_l), cptr<float>(dv1_l), cptr<float>(pr.fk), cptr<float>(pr.v1), cptr_or_null<float>(dX),
        mptr<E>(dk), mptr<E>(dv), mptr<E>(dfq), mptr<E>(dfk), pr.layout);
    LINEA_CUDA_LAUNCH_CHECK();
    sum_rows_kernel<E><<<dim3(unsigned(d.segments), unsigned(d.H)), 32, 0, stream()>>>(
        cptr<float>(dgam_row), cptr<float>(dlam_row), mptr<E>(dgamma), mptr<E>(dlambda), pr.layout);
  });
  LINEA_CUDA_LAUNCH_CHECK();
  if (dS0.defined()) {
    const std::vector<Tensor> parts = kernels::split(dx0, {d.Dv, 1}, 3);
    Tensor(dS0).copy_(parts[0]);
    Tensor(dz0).copy_(parts[1].reshape({d.segments, d.H, d.F}));
  }
}

}  // namespace linea::cuda
