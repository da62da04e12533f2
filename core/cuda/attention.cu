// CUDA fused attention, FlashAttention-2 style on CUDA cores with f32 accumulation, over
// the variable-length segments of the T axis (AttentionDims) with optional ALiBi and a
// causal sliding window (tiles wholly outside every row's window are skipped).
// Forward: one block per (segment, head, 16-query tile of the segment); key/value tiles of
// 32 staged in shared memory, one key per lane, online softmax per row. Backward: one block
// per (segment, kv head, 32-key tile of the segment) owning its dk/dv rows in registers,
// looping over the query heads of the group and the segment's 32-row query tiles; dq
// accumulates with atomicAdd into an f32 buffer. Grids are sized by the longest segment;
// tiles past a shorter segment's end exit at once. The segment table is uploaded per call
// (not for the default layout, one whole batch entry per segment). Rows outside every
// segment are zero-filled before the launch (out, lse, dk, dv; dq keeps the zeros of its
// accumulator), since no block visits them.
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "core/cuda/rowwise.cuh"
#include "core/cuda/sequence_kernels.cuh"
#include "core/kernels/attention.h"

namespace linea::cuda {
namespace {

constexpr int kWarps = 4, kThreads = 32 * kWarps;
constexpr int kKeyTile = 32;                    // keys per tile: one per lane
constexpr int kRowsPerWarp = 4;                 // forward query rows per warp
constexpr int kFwdRows = kWarps * kRowsPerWarp;  // forward query tile
constexpr int kBwdRows = 32;                    // backward query tile
constexpr unsigned kFull = 0xffffffffu;

// Everything a block needs besides the tensors. Segment s covers flat rows
// [seg_start[s], seg_start[s] + seg_length[s]) of the [B*T] row index b*T + t, inside one
// batch entry b; positions i, j count from its first row t0 = seg_start[s] % T.
struct Layout {
  int64_t H, Hkv, T;
  float scale;
  bool causal;
  int64_t window;      // 0, or the keys i - window < j <= i that query i sees
  const float* alibi;  // [H] slopes, or null for no ALiBi
  // [S] each, device memory; both null for the default layout, where segment s is batch
  // entry s whole (start s*T, length T) and no table is uploaded.
  const int64_t* seg_start;
  const int64_t* seg_length;
};

// The ALiBi term -slope * |i - j| for positions i, j of one segment (-0 when slope is 0,
// i.e. without ALiBi, which leaves the score bit for bit). |i - j| fits an int: segments
// are at most 65535 tiles long (segment_grid).
__device__ __forceinline__ float alibi_bias(float slope, int64_t i, int64_t j) {
  return -slope * float(abs(int(i - j)));
}

// Dynamic shared memory of the forward: q tile [16][D], k tile [32][D+1], v tile [32][DV].
constexpr size_t fwd_smem_bytes(int D, int DV) {
  return sizeof(float) * (kFwdRows * D + kKeyTile * (D + 1) + kKeyTile * DV);
}

// q [B,H,T,D], k [B,Hkv,T,D], v [B,Hkv,T,DV], out [B,H,T,DV], lse [B,H,T]. Grid (S, H,
// ceil(max_length / kFwdRows)): segment, query head, query tile in reverse order (z = 0 is
// the longest segment's last tile, so under the causal mask the blocks that see the most
// keys start first). Warp w owns query rows w*kRowsPerWarp + i of the tile; lane owns
// output dims lane + 32c.
template <class E, int D, int DV>
__global__ void __launch_bounds__(kThreads)
    attention_fwd_kernel(const E* q, const E* k, const E* v, E* out, float* lse, Layout lay) {
  constexpr int kPer = DV / 32, kKS = D + 1;  // kKS: +1, lane j reads k row j, conflict-free
  extern __shared__ float fwd_smem[];
  float* qs = fwd_smem;             // [kFwdRows][D]
  float* ks = qs + kFwdRows * D;    // [kKeyTile][kKS]
  float* vs = ks + kKeyTile * kKS;  // [kKeyTile][DV]
  const int64_t seg = blockIdx.x, h = blockIdx.y, T = lay.T;
  const int64_t len = lay.seg_length ? lay.seg_length[seg] : T;
  const int64_t q0 = int64_t(gridDim.z - 1 - blockIdx.z) * kFwdRows;  // first query position of the tile
  if (q0 >= len) return;  // the whole block: this segment is shorter than the longest
  const int64_t start = lay.seg_start ? lay.seg_start[seg] : seg * T, b = start / T, t0 = start % T;
  const int64_t bh = b * lay.H + h, kv = b * lay.Hkv + h / (lay.H / lay.Hkv);
  const int64_t row0 = bh * T + t0;  // flat [B*H*T] row of the segment's position 0 in q/out/lse
  const float slope = lay.alibi ? lay.alibi[h] : 0.f;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const E* qb = q + row0 * D;
  const E* kb = k + (kv * T + t0) * D;
  const E* vb = v + (kv * T + t0) * DV;
  for (int idx = threadIdx.x; idx < kFwdRows * D; idx += kThreads) {
    const int r = idx / D, c = idx % D;
    qs[idx] = q0 + r < len ? load_as<float, E>(qb[(q0 + r) * D + c]) : 0.f;
  }
  float m[kRowsPerWarp], l[kRowsPerWarp], o[kRowsPerWarp][kPer];
#pragma unroll
  for (int i = 0; i < kRowsPerWarp; ++i) {
    m[i] = -INFINITY;
    l[i] = 0.f;
#pragma unroll
    for (int c = 0; c < kPer; ++c) o[i][c] = 0.f;
  }
  const int64_t key_end = lay.causal ? min(len, q0 + kFwdRows) : len;
  // The first key tile any row of this query tile sees (0 without a window).
  const int64_t key_begin = lay.window > 0 ? max(int64_t(0), q0 - lay.window + 1) / kKeyTile * kKeyTile : 0;
  for (int64_t k0 = key_begin; k0 < key_end; k0 += kKeyTile) {
    __syncthreads();  // the previous tile is consumed (and qs is written before the first)
    // Never past the segment: those rows are another's or padding.
    for (int idx = threadIdx.x; idx < kKeyTile * D; idx += kThreads) {
      const int r = idx / D, c = idx % D;
      ks[r * kKS + c] = k0 + r < len ? load_as<float, E>(kb[(k0 + r) * D + c]) : 0.f;
    }
    for (int idx = threadIdx.x; idx < kKeyTile * DV; idx += kThreads) {
      const int r = idx / DV;
      vs[idx] = k0 + r < len ? load_as<float, E>(vb[(k0 + r) * DV + idx % DV]) : 0.f;
    }
    __syncthreads();
    float s[kRowsPerWarp] = {};
#pragma unroll 8
    for (int c = 0; c < D; ++c) {
      const float kc = ks[lane * kKS + c];
#pragma unroll
      for (int i = 0; i < kRowsPerWarp; ++i) s[i] += qs[(warp * kRowsPerWarp + i) * D + c] * kc;
    }
    const int64_t j = k0 + lane;
    float p[kRowsPerWarp];
#pragma unroll
    for (int i = 0; i < kRowsPerWarp; ++i) {
      const int64_t qi = q0 + warp * kRowsPerWarp + i;
      const bool valid = j < len && (!lay.causal || j <= qi) && (lay.window == 0 || j > qi - lay.window);
      const float sc = valid ? s[i] * lay.scale + alibi_bias(slope, qi, j) : -INFINITY;
      // Without a window key 0 is visible to every row (rows past the segment's end too),
      // so m_new is finite from the first tile on; alpha = exp(-inf) = 0 there while l and o
      // are 0. A window can leave a row no key in a tile (m_new still -inf): alpha 0 keeps
      // its zeros instead of exp(-inf - -inf) = NaN.
      const float m_new = fmaxf(m[i], warp_reduce(sc, MaxOp()));
      p[i] = valid ? expf(sc - m_new) : 0.f;
      const float alpha = m_new == -INFINITY ? 0.f : expf(m[i] - m_new);
      l[i] = l[i] * alpha + warp_reduce(p[i], SumOp());
      m[i] = m_new;
#pragma unroll
      for (int c = 0; c < kPer; ++c) o[i][c] *= alpha;
    }
#pragma unroll 4
    for (int jj = 0; jj < kKeyTile; ++jj) {
      float vc[kPer];
#pragma unroll
      for (int c = 0; c < kPer; ++c) vc[c] = vs[jj * DV + lane + 32 * c];
#pragma unroll
      for (int i = 0; i < kRowsPerWarp; ++i) {
        const float pj = __shfl_sync(kFull, p[i], jj);
#pragma unroll
        for (int c = 0; c < kPer; ++c) o[i][c] += pj * vc[c];
      }
    }
  }
#pragma unroll
  for (int i = 0; i < kRowsPerWarp; ++i) {
    const int64_t qi = q0 + warp * kRowsPerWarp + i;
    if (qi >= len) continue;
    const float inv = 1.f / l[i];
#pragma unroll
    for (int c = 0; c < kPer; ++c) out[(row0 + qi) * DV + lane + 32 * c] = store_as<E, float>(o[i][c] * inv);
    if (lane == 0) lse[row0 + qi] = m[i] + logf(l[i]);
  }
}

// delta[row] = sum_d dout[row, d] * out[row, d] over rows of D (the value head dim); one warp per row.
template <class E>
__global__ void attention_delta_kernel(const E* out, const E* dout, float* delta, int64_t rows, int D) {
  const int lane = threadIdx.x & 31;
  for (int64_t row = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5; row < rows;
       row += (int64_t(gridDim.x) * blockDim.x) >> 5) {
    float s = 0.f;
    for (int c = lane; c < D; c += 32) s += load_as<float, E>(out[row * D + c]) * load_as<float, E>(dout[row * D + c]);
    s = warp_reduce(s, SumOp());
    if (lane == 0) delta[row] = s;
  }
}

// Dynamic shared memory of the backward: k, v tiles [32][D+1], [32][DV+1], q, dout tiles
// [32][D], [32][DV], P and scale * dS tiles [32][33], lse and delta of the query tile [32].
constexpr size_t bwd_smem_bytes(int D, int DV) {
  return sizeof(float) *
         (kKeyTile * (D + 1) + kKeyTile * (DV + 1) + kBwdRows * (D + DV) + 2 * kBwdRows * (kKeyTile + 1) + 2 * kBwdRows);
}

// q [B,H,T,D], dout [B,H,T,DV], k [B,Hkv,T,D], v [B,Hkv,T,DV], lse/delta [B,H,T];
// dq_acc [B,H,T,D] f32, zeroed; dk [B,Hkv,T,D], dv [B,Hkv,T,DV]. Grid (S, Hkv, ceil(max_length / kKeyTile)): segment, kv head, key tile.
// Scores: thread (warp, lane) takes key lane and query rows warp + 4i. dk/dv: keys
// warp + 4jj, dims lane + 32c. dq: rows warp + 4i, dims lane + 32c.
template <class E, int D, int DV>
__global__ void __launch_bounds__(kThreads)
    attention_bwd_kernel(const E* q, const E* k, const E* v, const E* dout, const float* lse, const float* delta,
                         float* dq_acc, E* dk, E* dv, Layout lay) {
  constexpr int kPer = D / 32, kPerV = DV / 32, kKS = D + 1, kVS = DV + 1, kPS = kKeyTile + 1;
  constexpr int kKeysPerWarp = kKeyTile / kWarps, kRowsPerWarpB = kBwdRows / kWarps;
  extern __shared__ float smem[];
  float* ks = smem;
  float* vs = ks + kKeyTile * kKS;
  float* qs = vs + kKeyTile * kVS;
  float* dos = qs + kBwdRows * D;
  float* ps = dos + kBwdRows * DV;
  float* dss = ps + kBwdRows * kPS;
  float* lses = dss + kBwdRows * kPS;
  float* deltas = lses + kBwdRows;

  const int64_t seg = blockIdx.x, hkv = blockIdx.y, group = lay.H / lay.Hkv, T = lay.T;
  const int64_t len = lay.seg_length ? lay.seg_length[seg] : T;
  const int64_t k0 = int64_t(blockIdx.z) * kKeyTile;  // first key position of the tile
  if (k0 >= len) return;  // the whole block: this segment is shorter than the longest
  const int64_t start = lay.seg_start ? lay.seg_start[seg] : seg * T, b = start / T, t0 = start % T;
  const int64_t krow0 = (b * lay.Hkv + hkv) * T + t0;  // flat [B*Hkv*T] row of key position 0
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  for (int idx = threadIdx.x; idx < kKeyTile * D; idx += kThreads) {
    const int r = idx / D, c = idx % D;
    ks[r * kKS + c] = k0 + r < len ? load_as<float, E>(k[(krow0 + k0 + r) * D + c]) : 0.f;
  }
  for (int idx = threadIdx.x; idx < kKeyTile * DV; idx += kThreads) {
    const int r = idx / DV, c = idx % DV;
    vs[r * kVS + c] = k0 + r < len ? load_as<float, E>(v[(krow0 + k0 + r) * DV + c]) : 0.f;
  }
  float dk_acc[kKeysPerWarp][kPer] = {}, dv_acc[kKeysPerWarp][kPerV] = {};
  const int64_t j = k0 + lane;
  // Under the causal mask query tiles before this key tile see none of its keys; with a
  // window, neither do rows at or past the tile's last key + window.
  const int64_t q_start = lay.causal ? k0 / kBwdRows * kBwdRows : 0;
  const int64_t q_end = lay.window > 0 ? min(len, k0 + kKeyTile - 1 + lay.window) : len;
  for (int64_t g = 0; g < group; ++g) {
    const int64_t h = hkv * group + g;
    const int64_t qrow0 = (b * lay.H + h) * T + t0;  // flat [B*H*T] row of query position 0
    const float slope = lay.alibi ? lay.alibi[h] : 0.f;
    for (int64_t q0 = q_start; q0 < q_end; q0 += kBwdRows) {
      __syncthreads();  // the previous step is done with qs/dos/ps/dss (ks/vs written before the first)
      for (int idx = threadIdx.x; idx < kBwdRows * D; idx += kThreads) {
        const int r = idx / D, c = idx % D;
        qs[idx] = q0 + r < len ? load_as<float, E>(q[(qrow0 + q0 + r) * D + c]) : 0.f;
      }
      for (int idx = threadIdx.x; idx < kBwdRows * DV; idx += kThreads) {
        const int r = idx / DV, c = idx % DV;
        dos[idx] = q0 + r < len ? load_as<float, E>(dout[(qrow0 + q0 + r) * DV + c]) : 0.f;
      }
      if (threadIdx.x < kBwdRows) {
        const bool in = q0 + threadIdx.x < len;
        lses[threadIdx.x] = in ? lse[qrow0 + q0 + threadIdx.x] : 0.f;
        deltas[threadIdx.x] = in ? delta[qrow0 + q0 + threadIdx.x] : 0.f;
      }
      __syncthreads();
      // P = exp(scale q.k + alibi - lse) and dP = dout.v for key j and rows warp + 4i.
      float s[kRowsPerWarpB] = {}, dp[kRowsPerWarpB] = {};
#pragma unroll 4
      for (int c = 0; c < D; ++c) {
        const float kc = ks[lane * kKS + c];
#pragma unroll
        for (int i = 0; i < kRowsPerWarpB; ++i) s[i] += qs[(warp + kWarps * i) * D + c] * kc;
      }
#pragma unroll 4
      for (int c = 0; c < DV; ++c) {
        const float vc = vs[lane * kVS + c];
#pragma unroll
        for (int i = 0; i < kRowsPerWarpB; ++i) dp[i] += dos[(warp + kWarps * i) * DV + c] * vc;
      }
#pragma unroll
      for (int i = 0; i < kRowsPerWarpB; ++i) {
        const int r = warp + kWarps * i;
        const int64_t qi = q0 + r;
        const bool valid =
            qi < len && j < len && (!lay.causal || j <= qi) && (lay.window == 0 || j > qi - lay.window);
        // The score exactly as the forward formed it, so P matches the lse it wrote.
        const float p = valid ? expf(s[i] * lay.scale + alibi_bias(slope, qi, j) - lses[r]) : 0.f;
        ps[r * kPS + lane] = p;
        dss[r * kPS + lane] = p * (dp[i] - deltas[r]) * lay.scale;  // scale folded in for dq and dk
      }
      __syncthreads();
      // dv += P^T dout, dk += (scale dS)^T q for keys warp + 4jj.
      for (int r = 0; r < kBwdRows; ++r) {
        float dor[kPerV], qr[kPer];
#pragma unroll
        for (int c = 0; c < kPerV; ++c) dor[c] = dos[r * DV + lane + 32 * c];
#pragma unroll
        for (int c = 0; c < kPer; ++c) qr[c] = qs[r * D + lane + 32 * c];
#pragma unroll
        for (int jj = 0; jj < kKeysPerWarp; ++jj) {
          const int key = warp + kWarps * jj;
          const float p = ps[r * kPS + key], ds = dss[r * kPS + key];
#pragma unroll
          for (int c = 0; c < kPerV; ++c) dv_acc[jj][c] += p * dor[c];
#pragma unroll
          for (int c = 0; c < kPer; ++c) dk_acc[jj][c] += ds * qr[c];
        }
      }
      // dq += (scale dS) k for rows warp + 4i.
#pragma unroll
      for (int i = 0; i < kRowsPerWarpB; ++i) {
        const int r = warp + kWarps * i;
        if (q0 + r >= len) continue;
        float acc[kPer] = {};
        for (int key = 0; key < kKeyTile; ++key) {
          const float ds = dss[r * kPS + key];
#pragma unroll
          for (int c = 0; c < kPer; ++c) acc[c] += ds * ks[key * kKS + lane + 32 * c];
        }
#pragma unroll
        for (int c = 0; c < kPer; ++c) atomicAdd(dq_acc + (qrow0 + q0 + r) * D + lane + 32 * c, acc[c]);
      }
    }
  }
#pragma unroll
  for (int jj = 0; jj < kKeysPerWarp; ++jj) {
    const int64_t key = k0 + warp + kWarps * jj;
    if (key >= len) continue;
#pragma unroll
    for (int c = 0; c < kPer; ++c) dk[(krow0 + key) * D + lane + 32 * c] = store_as<E, float>(dk_acc[jj][c]);
#pragma unroll
    for (int c = 0; c < kPerV; ++c) dv[(krow0 + key) * DV + lane + 32 * c] = store_as<E, float>(dv_acc[jj][c]);
  }
}

template <int D, int DV>
struct HeadDims {
  static constexpr int d = D, dv = DV;
};

// fn(HeadDims<D, DV>) for the (q/k, v) head dims the kernels are built for: equal dims of
// 32, 64 and 128, and MLA's (96, 64) (the tiny recipes) and (192, 128) (Kimi Linear).
template <class Fn>
void dispatch_head_dims(int64_t D, int64_t DV, const char* op, Fn&& fn) {
  if (D == DV && D == 32) return fn(HeadDims<32, 32>{});
  if (D == DV && D == 64) return fn(HeadDims<64, 64>{});
  if (D == DV && D == 128) return fn(HeadDims<128, 128>{});
  if (D == 96 && DV == 64) return fn(HeadDims<96, 64>{});
  if (D == 192 && DV == 128) return fn(HeadDims<192, 128>{});
  throw ShapeError(str_cat(op, ": CUDA kernels support head dims (q/k, v) of (32, 32), (64, 64), (128, 128), ",
                           "(96, 64) and (192, 128), got (", D, ", ", DV, ")"));
}

// Grid (segments, heads, tiles of the longest segment): x takes up to 2^31 - 1 blocks,
// y and z up to 65535.
dim3 segment_grid(const char* op, const AttentionDims& d, int64_t heads, int tile) {
  const int64_t tiles = std::max<int64_t>(1, (d.max_length + tile - 1) / tile);
  LINEA_CHECK(tiles <= 65535, op, ": sequence length ", d.max_length, " is too long for the CUDA kernels (at most ",
              65535 * int64_t(tile), ")");
  LINEA_CHECK(heads <= 65535, op, ": ", heads, " heads are too many for the CUDA kernels (at most 65535)");
  LINEA_CHECK(d.segments >= 1 && d.segments <= 0x7fffffff, op, ": ", d.segments,
              " sequences are out of range for the CUDA kernels (1 to 2^31 - 1)");
  return dim3(unsigned(d.segments), unsigned(heads), unsigned(tiles));
}

// The segment table on the device (caching allocator): i64 [2, S], starts then lengths;
// undefined for the default layout (segment s is batch entry s whole), which the kernels
// derive from the block index.
Tensor upload_segments(const AttentionDims& d, Device device) {
  bool whole_entries = d.segments == d.B;
  for (int64_t s = 0; whole_entries && s < d.segments; ++s)
    whole_entries = d.seg_start[s] == s * d.T && d.seg_length[s] == d.T;
  if (whole_entries) return Tensor();
  return upload_segment_table(d.seg_start, d.seg_length, d.segments, device);
}

Layout make_layout(const AttentionDims& d, const Tensor& segments) {
  const int64_t* seg = segments.defined() ? static_cast<const int64_t*>(segments.data_ptr()) : nullptr;
  return Layout{d.H, d.Hkv, d.T, float(d.scale), d.causal, d.window, d.alibi, seg, seg ? seg + d.segments : nullptr};
}

}  // namespace

void attention_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& lse,
                   const AttentionDims& d) {
  const char* op = "attention";
  const dim3 grid = segment_grid(op, d, d.H, kFwdRows);
  const Tensor segments = upload_segments(d, q.device());
  // Padding rows are never visited by a block: they keep these zeros.
  if (!d.covers_all) {
    Tensor(out).zero_();
    Tensor(lse).zero_();
  }
  dispatch_dtype(q.dtype(), op, [&](auto tag) {
    using E = typename decltype(tag)::type;
    dispatch_head_dims(d.D, d.Dv, op, [&](auto dims) {
      constexpr int D = decltype(dims)::d, DV = decltype(dims)::dv;
      constexpr size_t smem = fwd_smem_bytes(D, DV);
      LINEA_CUDA_CHECK(cudaFuncSetAttribute(attention_fwd_kernel<E, D, DV>,
                                            cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
      attention_fwd_kernel<E, D, DV><<<grid, kThreads, smem, stream()>>>(
          cptr<E>(q), cptr<E>(k), cptr<E>(v), mptr<E>(out), mptr<float>(lse), make_layout(d, segments));
    });
  });
  LINEA_CUDA_LAUNCH_CHECK();
}

void attention_bwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& lse,
                   const Tensor& dout, const Tensor& dq, const Tensor& dk, const Tensor& dv, const AttentionDims& d) {
  const char* op = "attention backward";
  const dim3 grid = segment_grid(op, d, d.Hkv, kKeyTile);
  const Tensor segments = upload_segments(d, q.device());
  const int64_t rows = d.B * d.H * d.T;
  Tensor delta = Tensor::empty({rows}, DType::f32, q.device());
  // f32 gradients accumulate in place; bf16/f16 ones through an f32 buffer. Its zeros stay
  // on padding rows, which no block visits; dk/dv rows there are zeroed here.
  Tensor dq_acc = q.dtype() == DType::f32 ? dq : Tensor::empty(dq.shape(), DType::f32, q.device());
  dq_acc.zero_();
  if (!d.covers_all) {
    Tensor(dk).zero_();
    Tensor(dv).zero_();
  }
  dispatch_dtype(q.dtype(), op, [&](auto tag) {
    using E = typename decltype(tag)::type;
    attention_delta_kernel<E><<<grid_for(rows * 32, kThreads), kThreads, 0, stream()>>>(
        cptr<E>(out), cptr<E>(dout), mptr<float>(delta), rows, int(d.Dv));
    LINEA_CUDA_LAUNCH_CHECK();
    dispatch_head_dims(d.D, d.Dv, op, [&](auto dims) {
      constexpr int D = decltype(dims)::d, DV = decltype(dims)::dv;
      constexpr size_t smem = bwd_smem_bytes(D, DV);
      LINEA_CUDA_CHECK(cudaFuncSetAttribute(attention_bwd_kernel<E, D, DV>,
                                            cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
      attention_bwd_kernel<E, D, DV><<<grid, kThreads, smem, stream()>>>(
          cptr<E>(q), cptr<E>(k), cptr<E>(v), cptr<E>(dout), cptr<float>(lse), cptr<float>(delta),
          mptr<float>(dq_acc), mptr<E>(dk), mptr<E>(dv), make_layout(d, segments));
    });
  });
  LINEA_CUDA_LAUNCH_CHECK();
  if (!dq_acc.shares_storage(dq)) Tensor(dq).copy_(dq_acc);
}

}  // namespace linea::cuda
