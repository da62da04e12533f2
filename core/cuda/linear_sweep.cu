// The decayed linear-attention sweep kernel (core/cuda/linear_sweep.cuh): one block per
// (sequence, head, 32 columns of v'); it keeps its X columns [Da x 32] in shared memory and
// walks the sequence in tiles of 32 rows: tile loads, the masked score tile
// q' k'ᵀ ⊙ λ^(a-c), the outputs, then the state update. f32 arithmetic for every input
// dtype; no atomics, so results are deterministic. Each column tile recomputes the score
// tile (Db/32 times in all), which costs about as much as the products themselves at
// Db = 64..128; a tensor-core version would share it.
#include <algorithm>
#include <cstdint>

#include "core/cuda/linear_sweep.cuh"
#include "core/cuda/sequence_kernels.cuh"

namespace linea::cuda {
namespace {

constexpr int kRows = 32, kCols = 32, kWarps = 8, kThreads = 32 * kWarps;
// Da, the length of a shared-memory row of q' and k' (Lightning's head dims up to 256, and
// hedgehog_window's value dims up to 256 plus its column of ones); Db is tiled, so unbounded.
constexpr int64_t kMaxDim = 320;

template <class E>
struct SweepParams {
  const E* q;        // q' [B, H, T, Da]
  const E* k;        // k' [B, H, T, Da]
  const E* v;        // v' [B, H, T, Db]
  E* out;            // [B, H, T, Db]
  const E* x0;       // [N, H, Da, Db], or [N, H, Db, Da] when x0_transposed; null: zeros
  E* x_final;        // [N, H, Da, Db] or null
  const double* decay;  // [H] s_h (λ = exp(-s_h)), or null for λ = 1
  const int64_t* seg;   // [2, N]: starts, then lengths
  int64_t H, T, Da, Db, N;
  bool x0_transposed, reverse, causal;
  int e;
};

inline size_t shared_bytes(int64_t Da) {
  const int64_t lda = Da + 1;  // odd stride for even Da: lanes reading rows c = 0..31 hit distinct banks
  return sizeof(float) * size_t(2 * kRows * lda + kRows * kCols + kRows * (kRows + 1) + Da * kCols);
}

template <class E>
__global__ void __launch_bounds__(kThreads) linear_sweep_kernel(SweepParams<E> p) {
  extern __shared__ float smem[];
  __shared__ float pw[kRows + 2];  // λ^i, i = 0 .. kRows + 1
  const int64_t Da = p.Da, Db = p.Db, lda = Da + 1;
  float* qs = smem;                      // [kRows][lda]
  float* ks = qs + kRows * lda;          // [kRows][lda]
  float* vs = ks + kRows * lda;          // [kRows][kCols]
  float* ps = vs + kRows * kCols;        // [kRows][kRows + 1]
  float* xs = ps + kRows * (kRows + 1);  // [Da][kCols]
  const int64_t s = blockIdx.x, h = blockIdx.y, col0 = int64_t(blockIdx.z) * kCols;
  const int64_t start = p.seg[s], len = p.seg[p.N + s];
  const int64_t row0 = (start / p.T * p.H + h) * p.T + start % p.T;  // the sequence's first token's flat row
  const int ncols = int(min(int64_t(kCols), Db - col0));
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const double decay = p.decay ? p.decay[h] : 0.0;
  for (int i = tid; i < kRows + 2; i += kThreads) pw[i] = float(exp(-decay * double(i)));
  const int64_t plane = (s * p.H + h) * Da * Db;
  for (int64_t i = tid; i < Da * kCols; i += kThreads) {
    const int64_t a = i / kCols;
    const int j = int(i % kCols);
    float x = 0.f;
    if (p.x0 && j < ncols)
      x = load_as<float, E>(p.x0_transposed ? p.x0[plane + (col0 + j) * Da + a] : p.x0[plane + a * Db + col0 + j]);
    xs[i] = x;
  }
  // Flat row of the sweep's row r: position r of the sequence, or r from its end.
  auto row_of = [&](int64_t r) { return row0 + (p.reverse ? len - 1 - r : r); };
  // Rows a0 .. a0+m-1 of q' (when with_q), k' and v' into shared memory, zero-padded.
  auto load = [&](int64_t a0, int m, bool with_q) {
    for (int64_t i = tid; i < kRows * Da; i += kThreads) {
      const int r = int(i / Da);
      const int64_t c = i % Da;
      const bool in = r < m;
      const int64_t src = in ? row_of(a0 + r) * Da + c : 0;
      if (with_q) qs[r * lda + c] = in ? load_as<float, E>(p.q[src]) : 0.f;
      ks[r * lda + c] = in ? load_as<float, E>(p.k[src]) : 0.f;
    }
    for (int i = tid; i < kRows * kCols; i += kThreads) {
      const int r = i / kCols, j = i % kCols;
      vs[i] = r < m && j < ncols ? load_as<float, E>(p.v[row_of(a0 + r) * Db + col0 + j]) : 0.f;
    }
  };
  // out'_r for the tile's rows: lane = column, warp strides the rows.
  auto emit = [&](int64_t a0, int m, bool intra) {
    for (int r = warp; r < m; r += kWarps) {
      if (lane >= ncols) continue;
      float acc = 0.f;
      if (intra)
        for (int c = 0; c <= r; ++c) acc += ps[r * (kRows + 1) + c] * vs[c * kCols + lane];
      float qx = 0.f;
      for (int64_t d = 0; d < Da; ++d) qx += qs[r * lda + d] * xs[d * kCols + lane];
      acc += (intra ? pw[r + p.e] : 1.f) * qx;
      p.out[row_of(a0 + r) * Db + col0 + lane] = store_as<E, float>(acc);
    }
  };
  // X <- λ^m X + Σ_c λ^(m-c-e) k'_cᵀ v'_c (λ = 1 for the non-causal sweep).
  auto update = [&](int m, bool decayed) {
    for (int64_t d = warp; d < Da; d += kWarps) {
      float acc = (decayed ? pw[m] : 1.f) * xs[d * kCols + lane];
      for (int c = 0; c < m; ++c) acc += (decayed ? pw[m - c - p.e] : 1.f) * ks[c * lda + d] * vs[c * kCols + lane];
      xs[d * kCols + lane] = acc;
    }
  };
  if (p.causal) {
    for (int64_t a0 = 0; a0 < len; a0 += kRows) {
      const int m = int(min(int64_t(kRows), len - a0));
      __syncthreads();  // the previous tile is consumed (pw and xs are written before the first)
      load(a0, m, true);
      __syncthreads();
      for (int i = tid; i < kRows * kRows; i += kThreads) {
        const int r = i / kRows, c = i % kRows;
        float acc = 0.f;
        if (c <= r && r < m) {
          for (int64_t d = 0; d < Da; ++d) acc += qs[r * lda + d] * ks[c * lda + d];
          acc *= pw[r - c];
        }
        ps[r * (kRows + 1) + c] = acc;
      }
      __syncthreads();
      emit(a0, m, true);
      __syncthreads();  // every row has read X before it moves on
      update(m, true);
    }
  } else {
    for (int64_t a0 = 0; a0 < len; a0 += kRows) {
      const int m = int(min(int64_t(kRows), len - a0));
      __syncthreads();
      load(a0, m, false);
      __syncthreads();
      update(m, false);
    }
    for (int64_t a0 = 0; a0 < len; a0 += kRows) {
      const int m = int(min(int64_t(kRows), len - a0));
      __syncthreads();
      load(a0, m, true);
      __syncthreads();
      emit(a0, m, false);
    }
  }
  if (!p.x_final) return;
  __syncthreads();
  for (int64_t i = tid; i < Da * kCols; i += kThreads) {
    const int j = int(i % kCols);
    if (j < ncols) p.x_final[plane + i / kCols * Db + col0 + j] = store_as<E, float>(xs[i]);
  }
}

}  // namespace

void linear_sweep(const char* op, const LinearSweep& a, const SweepLayout& l) {
  LINEA_CHECK(a.Da <= kMaxDim, op, ": the CUDA sweep takes rows of q' and k' up to ", kMaxDim, " values, got ", a.Da);
  LINEA_CHECK(l.N <= 0x7fffffff && l.H <= 65535, op, ": ", l.N, " sequences x ", l.H,
              " heads are out of range for the CUDA kernel");
  if (l.N == 0) return;
  const dim3 grid(unsigned(l.N), unsigned(l.H), unsigned((a.Db + kCols - 1) / kCols));
  const size_t smem = shared_bytes(a.Da);
  dispatch_dtype(a.q->dtype(), op, [&](auto tag) {
    using E = typename decltype(tag)::type;
    SweepParams<E> p{cptr<E>(*a.q), cptr<E>(*a.k), cptr<E>(*a.v), mptr<E>(*a.out), cptr_or_null<E>(*a.x0),
                     mptr_or_null<E>(*a.x_final), cptr_or_null<double>(*l.decay), cptr<int64_t>(*l.segments), l.H,
                     l.T, a.Da, a.Db, l.N, a.x0_transposed, a.reverse, a.causal, a.e};
    LINEA_CUDA_CHECK(cudaFuncSetAttribute(linear_sweep_kernel<E>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          int(smem)));
    linear_sweep_kernel<E><<<grid, kThreads, smem, stream()>>>(p);
  });
  LINEA_CUDA_LAUNCH_CHECK();
}

}  // namespace linea::cuda
