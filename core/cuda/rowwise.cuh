// Block-per-row helpers shared by the CUDA row-wise kernels (softmax, norms,
// cross-entropy): warp-shuffle and block reductions, and the launch shape for N rows of C.
#pragma once
#include <algorithm>

#include "core/cuda/check.cuh"
#include "core/half.h"

namespace linea::cuda {

struct SumOp {
  template <class A> __device__ __forceinline__ A operator()(A a, A b) const { return a + b; }
};
// NaN wins, so a row holding NaN reduces to NaN.
struct MaxOp {
  template <class A> __device__ __forceinline__ A operator()(A a, A b) const { return (a > b || a != a) ? a : b; }
};

template <class A, class Op>
__device__ __forceinline__ A warp_reduce(A v, Op op) {
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Reduces v over the block and returns the result to every thread. blockDim.x must be a
// multiple of 32 (row_block guarantees it); every thread of the block must call it.
template <class A, class Op>
__device__ A block_reduce(A v, Op op, A identity) {
  __shared__ A partial[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_reduce(v, op);
  __syncthreads();  // a previous call may still be reading `partial`
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  v = lane < int(blockDim.x >> 5) ? partial[lane] : identity;
  return warp_reduce(v, op);
}

// Softmax statistics of one row of C, returned to every thread of the block: the max m
// and the sum of exp(x - m).
template <class T, class A>
__device__ void block_row_max_sumexp(const T* xr, int64_t C, A& m, A& s) {
  m = -INFINITY;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) m = MaxOp()(m, load_as<A, T>(xr[c]));
  m = block_reduce<A>(m, MaxOp(), A(-INFINITY));
  s = 0;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) s += std::exp(load_as<A, T>(xr[c]) - m);
  s = block_reduce<A>(s, SumOp(), A(0));
}

// Threads per row of C elements: about 4 elements per thread, a multiple of 32 in [32, 512].
inline int row_block(int64_t C) {
  const int64_t t = (C / 4 + 31) / 32 * 32;
  return int(std::min<int64_t>(512, std::max<int64_t>(32, t)));
}
// Blocks for N rows; kernels loop `for (row = blockIdx.x; row < N; row += gridDim.x)`.
inline unsigned row_grid(int64_t N) { return unsigned(std::min<int64_t>(std::max<int64_t>(N, 1), 65535LL * 32)); }

}  // namespace linea::cuda
