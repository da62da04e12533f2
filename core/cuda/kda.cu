// CUDA Kimi Delta Attention: the token recurrence of specs/kimi_linear.md §1.4, one warp per
// (sequence, value head, value column). The columns of the state S [K, V] evolve
// independently: for column j, s <- exp(g_t) ⊙ s; u_j = β_t (v_tj - k_t · s) (β_t v_tj
// without the delta rule); s <- s + k_t u_j; o_tj = scale q_t · s. Lane l keeps key channels
// l, l + 32, ... of s in registers; the two dot products per token are warp reductions.
// This is the oracle's algorithm, not yet the chunkwise one of §2 (no tensor cores): it is
// the GPU path's correctness baseline and runs O(T K V) per head like the CPU oracle.
//
// Backward: the same warp first sweeps its column forward, saving s at every 64th token in
// a scratch checkpoint buffer (total tokens / 64 states of K x V per value head); then, chunk by chunk from the end, it recomputes the chunk's
// states from its checkpoint into shared memory and runs the column's reverse step:
//   ds += scale q_t do_tj; dq_t += scale do_tj s_t; du = k_t · ds; dk_t += u_j ds;
//   dβ_t += w du (w = v_tj - k_t · a, or v_tj); dv_tj = β_t du;
//   da = ds - β_t du k_t (delta) or ds; dk_t -= β_t du a (delta); dg_t += da ⊙ a;
//   ds <- exp(g_t) ⊙ da,
// with a = exp(g_t) ⊙ s_{t-1}. dv and the initial state's gradient have one writer each;
// dq, dk, dg and dβ sum over the V columns (and dq, dk over the value heads of a group) by
// f32 atomicAdd, so they vary run to run in the last bits, as the attention kernel's dq does.
#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/cuda/rowwise.cuh"
#include "core/cuda/sequence_kernels.cuh"
#include "core/kernels/kda.h"

namespace linea::cuda {
namespace {

constexpr int kFwdWarps = 4;   // columns per forward block
constexpr int kBwdWarps = 2;   // columns per backward block (each keeps kChunk states of K in shared memory)
constexpr int kChunk = 64;     // checkpoint spacing of the backward
constexpr int64_t kMaxK = 256;  // 8 key channels per lane

struct KdaLayout {
  int64_t H, HV, T, K, V, N, G, chunk;
  float scale;
  bool delta;
  const int64_t* seg;  // [2, N]: starts, then lengths
};

// Rows of one (sequence, value head) plane: q/k in [B*H*T] rows, v/g/β/out in [B*HV*T].
struct PlaneRows {
  int64_t qk, v, len, state;  // state: index of the [K, V] state in [N*HV]
};

__device__ __forceinline__ PlaneRows plane_rows(const KdaLayout& l, int64_t s, int64_t e) {
  const int64_t start = l.seg[s], b = start / l.T, t0 = start % l.T;
  return {(b * l.H + e / l.G) * l.T + t0, (b * l.HV + e) * l.T + t0, l.seg[l.N + s], s * l.HV + e};
}

// One forward step of column j at token row (qk, v): decays st in place into a (= the decayed
// state), and returns w (the delta v_tj - k_t · a, or v_tj) and u = β w; st becomes s_t.
template <class E, int P>
__device__ __forceinline__ void step(const E* k, const E* g, const E* v, const E* beta, int64_t qk, int64_t vr,
                                     int64_t j, const KdaLayout& l, int lane, float (&st)[P], float (&kk)[P],
                                     float (&a)[P], float& w, float& u) {
  float ka = 0.f;
#pragma unroll
  for (int i = 0; i < P; ++i) {
    const int64_t c = lane + 32 * i;
    const bool in = c < l.K;
    kk[i] = in ? load_as<float, E>(k[qk * l.K + c]) : 0.f;
    a[i] = in ? expf(load_as<float, E>(g[vr * l.K + c])) * st[i] : 0.f;
    ka += kk[i] * a[i];
  }
  const float vj = load_as<float, E>(v[vr * l.V + j]);
  w = l.delta ? vj - warp_reduce(ka, SumOp()) : vj;
  u = load_as<float, E>(beta[vr]) * w;
#pragma unroll
  for (int i = 0; i < P; ++i) st[i] = a[i] + kk[i] * u;
}

template <class E, int P>
__device__ __forceinline__ void load_state(float (&st)[P], const E* s0, int64_t plane, int64_t j, const KdaLayout& l,
                                           int lane) {
#pragma unroll
  for (int i = 0; i < P; ++i) {
    const int64_t c = lane + 32 * i;
    st[i] = s0 && c < l.K ? load_as<float, E>(s0[(plane * l.K + c) * l.V + j]) : 0.f;
  }
}

// s_chunks (optional) [N, HV, slots, K, V] f32: the state entering every l.chunk-th token.
template <class E, int P>
__global__ void __launch_bounds__(32 * kFwdWarps)
    kda_fwd_kernel(const E* q, const E* k, const E* v, const E* g, const E* beta, E* out, const E* s0, E* s_final,
                   float* s_chunks, int64_t slots, KdaLayout l) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int64_t j = int64_t(blockIdx.z) * kFwdWarps + warp;
  if (j >= l.V) return;  // no block-wide synchronisation in this kernel
  const PlaneRows p = plane_rows(l, blockIdx.x, blockIdx.y);
  float st[P], kk[P], a[P];
  load_state(st, s0, p.state, j, l, lane);
  for (int64_t t = 0; t < p.len; ++t) {
    if (s_chunks && t % l.chunk == 0)
#pragma unroll
      for (int i = 0; i < P; ++i) {
        const int64_t c = lane + 32 * i;
        if (c < l.K) s_chunks[((p.state * slots + t / l.chunk) * l.K + c) * l.V + j] = st[i];
      }
    float w, u;
    step<E, P>(k, g, v, beta, p.qk + t, p.v + t, j, l, lane, st, kk, a, w, u);
    float qs = 0.f;
#pragma unroll
    for (int i = 0; i < P; ++i) {
      const int64_t c = lane + 32 * i;
      if (c < l.K) qs += load_as<float, E>(q[(p.qk + t) * l.K + c]) * st[i];
    }
    qs = warp_reduce(qs, SumOp());
    if (lane == 0) out[(p.v + t) * l.V + j] = store_as<E, float>(l.scale * qs);
  }
  if (s_final)
#pragma unroll
    for (int i = 0; i < P; ++i) {
      const int64_t c = lane + 32 * i;
      if (c < l.K) s_final[(p.state * l.K + c) * l.V + j] = store_as<E, float>(st[i]);
    }
}

// Accumulators in f32: dq, dk [B*H*T, K]; dg [B*HV*T, K]; dβ [B*HV*T]. checkpoints
// [Σ_s chunks_s, HV, V, K]: sequence s's chunk c at row chunk_start[s] + c (its own count, so
// a packed batch of many short documents needs no more than its tokens).
template <class E, int P>
__global__ void __launch_bounds__(32 * kBwdWarps)
    kda_bwd_kernel(const E* q, const E* k, const E* v, const E* g, const E* beta, const E* dout, const E* s0,
                   const E* ds_final, float* dq, float* dk, float* dg, float* dbeta, E* dv, E* ds0, float* checkpoints,
                   const int64_t* chunk_start, KdaLayout l) {
  extern __shared__ float saved[];  // [kBwdWarps][kChunk][K]: s_{t-1} of each token of the chunk
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int64_t j = int64_t(blockIdx.z) * kBwdWarps + warp;
  if (j >= l.V) return;  // each warp uses only its own slice of shared memory: no __syncthreads
  const PlaneRows p = plane_rows(l, blockIdx.x, blockIdx.y);
  float* mine = saved + int64_t(warp) * kChunk * l.K;
  const int64_t e = blockIdx.y;
  // Chunk c's saved state of this column.
  auto ck = [&](int64_t c) { return checkpoints + (((chunk_start[blockIdx.x] + c) * l.HV + e) * l.V + j) * l.K; };
  float st[P], kk[P], a[P];
  load_state(st, s0, p.state, j, l, lane);
  for (int64_t t = 0; t < p.len; ++t) {
    if (t % kChunk == 0)
#pragma unroll
      for (int i = 0; i < P; ++i)
        if (lane + 32 * i < l.K) ck(t / kChunk)[lane + 32 * i] = st[i];
    float w, u;
    step<E, P>(k, g, v, beta, p.qk + t, p.v + t, j, l, lane, st, kk, a, w, u);
  }
  float ds[P];
  load_state(ds, ds_final, p.state, j, l, lane);
  for (int64_t c0 = (p.len - 1) / kChunk * kChunk; p.len > 0 && c0 >= 0; c0 -= kChunk) {
    const int64_t c1 = std::min<int64_t>(p.len, c0 + kChunk);
#pragma unroll
    for (int i = 0; i < P; ++i) st[i] = lane + 32 * i < l.K ? ck(c0 / kChunk)[lane + 32 * i] : 0.f;
    for (int64_t t = c0; t < c1; ++t) {
#pragma unroll
      for (int i = 0; i < P; ++i)
        if (lane + 32 * i < l.K) mine[(t - c0) * l.K + lane + 32 * i] = st[i];
      float w, u;
      step<E, P>(k, g, v, beta, p.qk + t, p.v + t, j, l, lane, st, kk, a, w, u);
    }
    __syncwarp();
    for (int64_t t = c1 - 1; t >= c0; --t) {
#pragma unroll
      for (int i = 0; i < P; ++i) st[i] = lane + 32 * i < l.K ? mine[(t - c0) * l.K + lane + 32 * i] : 0.f;
      float w, u;
      step<E, P>(k, g, v, beta, p.qk + t, p.v + t, j, l, lane, st, kk, a, w, u);  // st = s_t, a, w, u of token t
      const int64_t qk = p.qk + t, vr = p.v + t;
      const float dot = l.scale * load_as<float, E>(dout[vr * l.V + j]);
      const float bt = load_as<float, E>(beta[vr]);
      float du = 0.f;
#pragma unroll
      for (int i = 0; i < P; ++i) {
        const int64_t c = lane + 32 * i;
        if (c >= l.K) continue;
        ds[i] += dot * load_as<float, E>(q[qk * l.K + c]);
        atomicAdd(dq + qk * l.K + c, dot * st[i]);
        du += kk[i] * ds[i];
      }
      du = warp_reduce(du, SumOp());
      const float dw = bt * du;  // the gradient of w (delta rule) or of v_tj
      if (lane == 0) {
        atomicAdd(dbeta + vr, w * du);
        dv[vr * l.V + j] = store_as<E, float>(dw);
      }
#pragma unroll
      for (int i = 0; i < P; ++i) {
        const int64_t c = lane + 32 * i;
        if (c >= l.K) continue;
        const float da = l.delta ? ds[i] - dw * kk[i] : ds[i];
        atomicAdd(dk + qk * l.K + c, u * ds[i] - (l.delta ? dw * a[i] : 0.f));
        atomicAdd(dg + vr * l.K + c, da * a[i]);
        ds[i] = expf(load_as<float, E>(g[vr * l.K + c])) * da;
      }
    }
    __syncwarp();
  }
  if (ds0)
#pragma unroll
    for (int i = 0; i < P; ++i) {
      const int64_t c = lane + 32 * i;
      if (c < l.K) ds0[(p.state * l.K + c) * l.V + j] = store_as<E, float>(ds[i]);
    }
}

// fn(std::integral_constant<int, P>) with P key channels per lane: 1, 2, 4 or 8.
template <class Fn>
void dispatch_per_lane(int64_t K, const char* op, Fn&& fn) {
  LINEA_CHECK(K <= kMaxK, op, ": the CUDA kernel takes key head dims up to ", kMaxK, ", got K = ", K);
  if (K <= 32) return fn(std::integral_constant<int, 1>{});
  if (K <= 64) return fn(std::integral_constant<int, 2>{});
  if (K <= 128) return fn(std::integral_constant<int, 4>{});
  return fn(std::integral_constant<int, 8>{});
}

KdaLayout layout(const KdaDims& d, const Tensor& seg) {
  return KdaLayout{d.H,     d.HV,           d.T,          d.K, d.V, d.segments, d.group(),
                   d.chunk, float(d.scale), d.delta_rule, cptr<int64_t>(seg)};
}

dim3 grid(const char* op, const KdaDims& d, int warps) {
  LINEA_CHECK(d.segments <= 0x7fffffff && d.HV <= 65535 && (d.V + warps - 1) / warps <= 65535, op, ": ", d.segments,
              " sequences x ", d.HV, " value heads x V = ", d.V, " are out of range for the CUDA kernel");
  return dim3(unsigned(d.segments), unsigned(d.HV), unsigned((d.V + warps - 1) / warps));
}

// An f32 accumulator for `t` (t itself when it is f32), zeroed.
Tensor accumulator(const Tensor& t) {
  Tensor acc = t.dtype() == DType::f32 ? t : Tensor::empty(t.shape(), DType::f32, t.device());
  acc.zero_();
  return acc;
}

}  // namespace

void kda_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta, const Tensor& out,
             const Tensor& initial_state, const Tensor& final_state, const Tensor& chunk_states, const KdaDims& d) {
  const char* op = "kda_fwd";
  if (d.segments == 0) return;
  const Tensor seg = upload_segment_table(d.seg_start, d.seg_length, d.segments, q.device());
  dispatch_dtype(q.dtype(), op, [&](auto tag) {
    using E = typename decltype(tag)::type;
    dispatch_per_lane(d.K, op, [&](auto per_lane) {
      constexpr int P = decltype(per_lane)::value;
      kda_fwd_kernel<E, P><<<grid(op, d, kFwdWarps), 32 * kFwdWarps, 0, stream()>>>(
          cptr<E>(q), cptr<E>(k), cptr<E>(v), cptr<E>(g), cptr<E>(beta), mptr<E>(out), cptr_or_null<E>(initial_state),
          mptr_or_null<E>(final_state), mptr_or_null<float>(chunk_states),
          chunk_states.defined() ? chunk_states.size(2) : 0, layout(d, seg));
    });
  });
  LINEA_CUDA_LAUNCH_CHECK();
}

void kda_recurrent_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta,
                       const Tensor& out, const Tensor& initial_state, const Tensor& final_state,
                       const Tensor& chunk_states, const KdaDims& d) {
  kda_fwd(q, k, v, g, beta, out, initial_state, final_state, chunk_states, d);
}

void kda_bwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta,
             const Tensor& dout, const Tensor& initial_state, const Tensor& dfinal_state, const Tensor& dq,
             const Tensor& dk, const Tensor& dv, const Tensor& dg, const Tensor& dbeta, const Tensor& dinitial_state,
             const KdaDims& d) {
  const char* op = "kda_bwd";
  Tensor dq_acc = accumulator(dq), dk_acc = accumulator(dk), dg_acc = accumulator(dg), dbeta_acc = accumulator(dbeta);
  if (d.segments > 0) {
    const Tensor seg = upload_segment_table(d.seg_start, d.seg_length, d.segments, q.device());
    // Each sequence's first checkpoint row: its chunks follow the earlier sequences' own counts.
    std::vector<int64_t> first_chunk(static_cast<size_t>(d.segments), 0);
    int64_t chunks = 0;
    for (int64_t s = 0; s < d.segments; ++s) {
      first_chunk[size_t(s)] = chunks;
      chunks += (d.seg_length[s] + kChunk - 1) / kChunk;
    }
    const Tensor chunk_start = Tensor::from_indices(first_chunk, q.device());
    Tensor checkpoints = Tensor::empty({std::max<int64_t>(1, chunks), d.HV, d.V, d.K}, DType::f32, q.device());
    const size_t smem = sizeof(float) * size_t(kBwdWarps * kChunk * d.K);
    dispatch_dtype(q.dtype(), op, [&](auto tag) {
      using E = typename decltype(tag)::type;
      dispatch_per_lane(d.K, op, [&](auto per_lane) {
        constexpr int P = decltype(per_lane)::value;
        LINEA_CUDA_CHECK(
            cudaFuncSetAttribute(kda_bwd_kernel<E, P>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
        kda_bwd_kernel<E, P><<<grid(op, d, kBwdWarps), 32 * kBwdWarps, smem, stream()>>>(
            cptr<E>(q), cptr<E>(k), cptr<E>(v), cptr<E>(g), cptr<E>(beta), cptr<E>(dout),
            cptr_or_null<E>(initial_state), cptr_or_null<E>(dfinal_state), mptr<float>(dq_acc), mptr<float>(dk_acc),
            mptr<float>(dg_acc), mptr<float>(dbeta_acc), mptr<E>(dv), mptr_or_null<E>(dinitial_state),
            mptr<float>(checkpoints), cptr<int64_t>(chunk_start), layout(d, seg));
      });
    });
    LINEA_CUDA_LAUNCH_CHECK();
  }
  const std::pair<const Tensor*, const Tensor*> results[] = {
      {&dq_acc, &dq}, {&dk_acc, &dk}, {&dg_acc, &dg}, {&dbeta_acc, &dbeta}};
  for (const auto& [acc, out] : results)
    if (!acc->shares_storage(*out)) Tensor(*out).copy_(*acc);
}

}  // namespace linea::cuda
