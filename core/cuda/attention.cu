// CUDA fused attention, FlashAttention-2 style on CUDA cores with f32 accumulation.
// Forward: one block per (b, h, 16-query tile); key/value tiles of 32 staged in shared
// memory, one key per lane, online softmax per row. Backward: one block per (b, kv head,
// 32-key tile) owning its dk/dv rows in registers, looping over the query heads of the
// group and their 32-row query tiles; dq accumulates with atomicAdd into an f32 buffer.
#include <type_traits>

#include "core/cuda/rowwise.cuh"
#include "core/kernels/attention.h"

namespace linea::cuda {
namespace {

constexpr int kWarps = 4, kThreads = 32 * kWarps;
constexpr int kKeyTile = 32;                    // keys per tile: one per lane
constexpr int kRowsPerWarp = 4;                 // forward query rows per warp
constexpr int kFwdRows = kWarps * kRowsPerWarp;  // forward query tile
constexpr int kBwdRows = 32;                    // backward query tile
constexpr unsigned kFull = 0xffffffffu;

// q/out [B,H,T,D], k/v [B,Hkv,T,D], lse [B,H,T]. Grid (B*H, ceil(T / kFwdRows)).
// Warp w owns query rows w*kRowsPerWarp + i; lane owns output dims lane + 32c.
template <class E, int D>
__global__ void __launch_bounds__(kThreads)
    attention_fwd_kernel(const E* q, const E* k, const E* v, E* out, float* lse, int64_t H, int64_t Hkv, int64_t T,
                         float scale, bool causal) {
  constexpr int kPer = D / 32;
  __shared__ float qs[kFwdRows][D];
  __shared__ float ks[kKeyTile][D + 1];  // +1: lane j reads row j, conflict-free
  __shared__ float vs[kKeyTile][D];
  const int64_t bh = blockIdx.x, kv = (bh / H) * Hkv + (bh % H) / (H / Hkv);
  const int64_t q0 = int64_t(blockIdx.y) * kFwdRows;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const E* qb = q + bh * T * D;
  const E* kb = k + kv * T * D;
  const E* vb = v + kv * T * D;
  for (int idx = threadIdx.x; idx < kFwdRows * D; idx += kThreads) {
    const int r = idx / D, c = idx % D;
    qs[r][c] = q0 + r < T ? load_as<float, E>(qb[(q0 + r) * D + c]) : 0.f;
  }
  float m[kRowsPerWarp], l[kRowsPerWarp], o[kRowsPerWarp][kPer];
#pragma unroll
  for (int i = 0; i < kRowsPerWarp; ++i) {
    m[i] = -INFINITY;
    l[i] = 0.f;
#pragma unroll
    for (int c = 0; c < kPer; ++c) o[i][c] = 0.f;
  }
  const int64_t key_end = causal ? min(T, q0 + kFwdRows) : T;
  for (int64_t k0 = 0; k0 < key_end; k0 += kKeyTile) {
    __syncthreads();  // the previous tile is consumed (and qs is written before the first)
    for (int idx = threadIdx.x; idx < kKeyTile * D; idx += kThreads) {
      const int r = idx / D, c = idx % D;
      const bool in = k0 + r < T;
      ks[r][c] = in ? load_as<float, E>(kb[(k0 + r) * D + c]) : 0.f;
      vs[r][c] = in ? load_as<float, E>(vb[(k0 + r) * D + c]) : 0.f;
    }
    __syncthreads();
    float s[kRowsPerWarp] = {};
#pragma unroll 8
    for (int c = 0; c < D; ++c) {
      const float kc = ks[lane][c];
#pragma unroll
      for (int i = 0; i < kRowsPerWarp; ++i) s[i] += qs[warp * kRowsPerWarp + i][c] * kc;
    }
    const int64_t j = k0 + lane;
    float p[kRowsPerWarp];
#pragma unroll
    for (int i = 0; i < kRowsPerWarp; ++i) {
      const int64_t qi = q0 + warp * kRowsPerWarp + i;
      const bool valid = j < T && (!causal || j <= qi);
      const float sc = valid ? s[i] * scale : -INFINITY;
      // Key 0 is visible to every row (padded rows past T too), so m_new is finite from
      // the first tile on; alpha = exp(-inf) = 0 there while l and o are still 0.
      const float m_new = fmaxf(m[i], warp_reduce(sc, MaxOp()));
      p[i] = valid ? expf(sc - m_new) : 0.f;
      const float alpha = expf(m[i] - m_new);
      l[i] = l[i] * alpha + warp_reduce(p[i], SumOp());
      m[i] = m_new;
#pragma unroll
      for (int c = 0; c < kPer; ++c) o[i][c] *= alpha;
    }
#pragma unroll 4
    for (int jj = 0; jj < kKeyTile; ++jj) {
      float vc[kPer];
#pragma unroll
      for (int c = 0; c < kPer; ++c) vc[c] = vs[jj][lane + 32 * c];
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
    if (qi >= T) continue;
    const float inv = 1.f / l[i];
#pragma unroll
    for (int c = 0; c < kPer; ++c) out[(bh * T + qi) * D + lane + 32 * c] = store_as<E, float>(o[i][c] * inv);
    if (lane == 0) lse[bh * T + qi] = m[i] + logf(l[i]);
  }
}

// delta[row] = sum_d dout[row, d] * out[row, d] over rows of D; one warp per row.
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

// Dynamic shared memory of the backward: k, v tiles [32][D+1], q, dout tiles [32][D],
// P and scale * dS tiles [32][33], lse and delta of the query tile [32].
constexpr size_t bwd_smem_bytes(int D) {
  return sizeof(float) * (2 * kKeyTile * (D + 1) + 2 * kBwdRows * D + 2 * kBwdRows * (kKeyTile + 1) + 2 * kBwdRows);
}

// Grid (B*Hkv, ceil(T / kKeyTile)). dq_acc [B,H,T,D] f32, zeroed; dk/dv [B,Hkv,T,D].
// Scores: thread (warp, lane) takes key lane and query rows warp + 4i. dk/dv: keys
// warp + 4jj, dims lane + 32c. dq: rows warp + 4i, dims lane + 32c.
template <class E, int D>
__global__ void __launch_bounds__(kThreads)
    attention_bwd_kernel(const E* q, const E* k, const E* v, const E* dout, const float* lse, const float* delta,
                         float* dq_acc, E* dk, E* dv, int64_t H, int64_t Hkv, int64_t T, float scale, bool causal) {
  constexpr int kPer = D / 32, kKS = D + 1, kPS = kKeyTile + 1;
  constexpr int kKeysPerWarp = kKeyTile / kWarps, kRowsPerWarpB = kBwdRows / kWarps;
  extern __shared__ float smem[];
  float* ks = smem;
  float* vs = ks + kKeyTile * kKS;
  float* qs = vs + kKeyTile * kKS;
  float* dos = qs + kBwdRows * D;
  float* ps = dos + kBwdRows * D;
  float* dss = ps + kBwdRows * kPS;
  float* lses = dss + kBwdRows * kPS;
  float* deltas = lses + kBwdRows;

  const int64_t bkv = blockIdx.x, group = H / Hkv;
  const int64_t k0 = int64_t(blockIdx.y) * kKeyTile;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  for (int idx = threadIdx.x; idx < kKeyTile * D; idx += kThreads) {
    const int r = idx / D, c = idx % D;
    const bool in = k0 + r < T;
    ks[r * kKS + c] = in ? load_as<float, E>(k[(bkv * T + k0 + r) * D + c]) : 0.f;
    vs[r * kKS + c] = in ? load_as<float, E>(v[(bkv * T + k0 + r) * D + c]) : 0.f;
  }
  float dk_acc[kKeysPerWarp][kPer] = {}, dv_acc[kKeysPerWarp][kPer] = {};
  const int64_t j = k0 + lane;
  // Under the causal mask query tiles before this key tile see none of its keys.
  const int64_t q_start = causal ? k0 / kBwdRows * kBwdRows : 0;
  for (int64_t g = 0; g < group; ++g) {
    const int64_t bh = (bkv / Hkv) * H + (bkv % Hkv) * group + g;
    for (int64_t q0 = q_start; q0 < T; q0 += kBwdRows) {
      __syncthreads();  // the previous step is done with qs/dos/ps/dss (ks/vs written before the first)
      for (int idx = threadIdx.x; idx < kBwdRows * D; idx += kThreads) {
        const int r = idx / D, c = idx % D;
        const bool in = q0 + r < T;
        qs[idx] = in ? load_as<float, E>(q[(bh * T + q0 + r) * D + c]) : 0.f;
        dos[idx] = in ? load_as<float, E>(dout[(bh * T + q0 + r) * D + c]) : 0.f;
      }
      if (threadIdx.x < kBwdRows) {
        const bool in = q0 + threadIdx.x < T;
        lses[threadIdx.x] = in ? lse[bh * T + q0 + threadIdx.x] : 0.f;
        deltas[threadIdx.x] = in ? delta[bh * T + q0 + threadIdx.x] : 0.f;
      }
      __syncthreads();
      // P = exp(scale q.k - lse) and dP = dout.v for key j and rows warp + 4i.
      float s[kRowsPerWarpB] = {}, dp[kRowsPerWarpB] = {};
#pragma unroll 4
      for (int c = 0; c < D; ++c) {
        const float kc = ks[lane * kKS + c], vc = vs[lane * kKS + c];
#pragma unroll
        for (int i = 0; i < kRowsPerWarpB; ++i) {
          const int r = warp + kWarps * i;
          s[i] += qs[r * D + c] * kc;
          dp[i] += dos[r * D + c] * vc;
        }
      }
#pragma unroll
      for (int i = 0; i < kRowsPerWarpB; ++i) {
        const int r = warp + kWarps * i;
        const int64_t qi = q0 + r;
        const bool valid = qi < T && j < T && (!causal || j <= qi);
        const float p = valid ? expf(s[i] * scale - lses[r]) : 0.f;
        ps[r * kPS + lane] = p;
        dss[r * kPS + lane] = p * (dp[i] - deltas[r]) * scale;  // scale folded in for dq and dk
      }
      __syncthreads();
      // dv += P^T dout, dk += (scale dS)^T q for keys warp + 4jj.
      for (int r = 0; r < kBwdRows; ++r) {
        float dor[kPer], qr[kPer];
#pragma unroll
        for (int c = 0; c < kPer; ++c) {
          dor[c] = dos[r * D + lane + 32 * c];
          qr[c] = qs[r * D + lane + 32 * c];
        }
#pragma unroll
        for (int jj = 0; jj < kKeysPerWarp; ++jj) {
          const int key = warp + kWarps * jj;
          const float p = ps[r * kPS + key], ds = dss[r * kPS + key];
#pragma unroll
          for (int c = 0; c < kPer; ++c) {
            dv_acc[jj][c] += p * dor[c];
            dk_acc[jj][c] += ds * qr[c];
          }
        }
      }
      // dq += (scale dS) k for rows warp + 4i.
#pragma unroll
      for (int i = 0; i < kRowsPerWarpB; ++i) {
        const int r = warp + kWarps * i;
        if (q0 + r >= T) continue;
        float acc[kPer] = {};
        for (int key = 0; key < kKeyTile; ++key) {
          const float ds = dss[r * kPS + key];
#pragma unroll
          for (int c = 0; c < kPer; ++c) acc[c] += ds * ks[key * kKS + lane + 32 * c];
        }
#pragma unroll
        for (int c = 0; c < kPer; ++c) atomicAdd(dq_acc + (bh * T + q0 + r) * D + lane + 32 * c, acc[c]);
      }
    }
  }
#pragma unroll
  for (int jj = 0; jj < kKeysPerWarp; ++jj) {
    const int64_t key = k0 + warp + kWarps * jj;
    if (key >= T) continue;
#pragma unroll
    for (int c = 0; c < kPer; ++c) {
      dk[(bkv * T + key) * D + lane + 32 * c] = store_as<E, float>(dk_acc[jj][c]);
      dv[(bkv * T + key) * D + lane + 32 * c] = store_as<E, float>(dv_acc[jj][c]);
    }
  }
}

// fn(TypeTag<E>) for the dtypes the CUDA kernels take.
template <class Fn>
void dispatch_dtype(DType t, const char* op, Fn&& fn) {
  switch (t) {
    case DType::f32: return fn(TypeTag<float>{});
    case DType::bf16: return fn(TypeTag<bf16>{});
    case DType::f16: return fn(TypeTag<f16>{});
    default: break;
  }
  throw ShapeError(str_cat(op, ": CUDA kernels take f32, bf16 or f16, got ", dtype_name(t),
                           " (f64 attention runs on the CPU only)"));
}

// fn(std::integral_constant<int, D>) for the head dims the kernels are built for.
template <class Fn>
void dispatch_head_dim(int64_t D, const char* op, Fn&& fn) {
  switch (D) {
    case 32: return fn(std::integral_constant<int, 32>{});
    case 64: return fn(std::integral_constant<int, 64>{});
    case 128: return fn(std::integral_constant<int, 128>{});
    default: break;
  }
  throw ShapeError(str_cat(op, ": CUDA kernels support head dim D in {32, 64, 128}, got D = ", D));
}

// Query / key tiles along grid y: at most 65535.
unsigned tiles(const char* op, int64_t T, int tile) {
  const int64_t n = (T + tile - 1) / tile;
  LINEA_CHECK(n <= 65535, op, ": sequence length T = ", T, " is too long for the CUDA kernels (at most ",
              65535 * int64_t(tile), ")");
  return unsigned(n);
}

template <class E>
const E* cptr(const Tensor& t) {
  return static_cast<const E*>(t.data_ptr());
}
template <class E>
E* mptr(const Tensor& t) {
  return static_cast<E*>(t.data_ptr());
}

}  // namespace

void attention_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& lse,
                   const AttentionDims& d) {
  const char* op = "attention";
  const dim3 grid(unsigned(d.B * d.H), tiles(op, d.T, kFwdRows));
  dispatch_dtype(q.dtype(), op, [&](auto tag) {
    using E = typename decltype(tag)::type;
    dispatch_head_dim(d.D, op, [&](auto dim) {
      constexpr int D = decltype(dim)::value;
      attention_fwd_kernel<E, D><<<grid, kThreads, 0, stream()>>>(cptr<E>(q), cptr<E>(k), cptr<E>(v), mptr<E>(out),
                                                                  mptr<float>(lse), d.H, d.Hkv, d.T, float(d.scale),
                                                                  d.causal);
    });
  });
  LINEA_CUDA_LAUNCH_CHECK();
}

void attention_bwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& lse,
                   const Tensor& dout, const Tensor& dq, const Tensor& dk, const Tensor& dv, const AttentionDims& d) {
  const char* op = "attention backward";
  const dim3 grid(unsigned(d.B * d.Hkv), tiles(op, d.T, kKeyTile));
  const int64_t rows = d.B * d.H * d.T;
  Tensor delta = Tensor::empty({rows}, DType::f32, q.device());
  // f32 gradients accumulate in place; bf16/f16 ones through an f32 buffer.
  Tensor dq_acc = q.dtype() == DType::f32 ? dq : Tensor::empty(dq.shape(), DType::f32, q.device());
  dq_acc.zero_();
  dispatch_dtype(q.dtype(), op, [&](auto tag) {
    using E = typename decltype(tag)::type;
    attention_delta_kernel<E><<<grid_for(rows * 32, kThreads), kThreads, 0, stream()>>>(
        cptr<E>(out), cptr<E>(dout), mptr<float>(delta), rows, int(d.D));
    LINEA_CUDA_LAUNCH_CHECK();
    dispatch_head_dim(d.D, op, [&](auto dim) {
      constexpr int D = decltype(dim)::value;
      constexpr size_t smem = bwd_smem_bytes(D);
      LINEA_CUDA_CHECK(cudaFuncSetAttribute(attention_bwd_kernel<E, D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                            int(smem)));
      attention_bwd_kernel<E, D><<<grid, kThreads, smem, stream()>>>(
          cptr<E>(q), cptr<E>(k), cptr<E>(v), cptr<E>(dout), cptr<float>(lse), cptr<float>(delta),
          mptr<float>(dq_acc), mptr<E>(dk), mptr<E>(dv), d.H, d.Hkv, d.T, float(d.scale), d.causal);
    });
  });
  LINEA_CUDA_LAUNCH_CHECK();
  if (!dq_acc.shares_storage(dq)) Tensor(dq).copy_(dq_acc);
}

}  // namespace linea::cuda
