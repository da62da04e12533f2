// CUDA softmax / log_softmax forward and backward: one block per row, fp32 accumulation
// (f64 for f64), block reductions from rowwise.cuh.
#include <cmath>

#include "core/cuda/rowwise.cuh"
#include "core/kernels/softmax.h"

namespace linea::cuda {
namespace {

// x, y: [N, C]. Passes per row: max, sum of exp, write (re-reads hit L1/L2).
template <class T>
__global__ void softmax_kernel(const T* x, T* y, int64_t N, int64_t C, bool log) {
  using A = acc_t<T>;
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const T* xr = x + n * C;
    T* yr = y + n * C;
    A m, s;
    block_row_max_sumexp<T, A>(xr, C, m, s);
    if (log) {
      const A log_sum = std::log(s);  // (x - m) first: exact for x near m, even for logits ~1e3
      for (int64_t c = threadIdx.x; c < C; c += blockDim.x) yr[c] = store_as<T, A>((load_as<A, T>(xr[c]) - m) - log_sum);
    } else {
      const A inv = A(1) / s;
      for (int64_t c = threadIdx.x; c < C; c += blockDim.x) yr[c] = store_as<T, A>(std::exp(load_as<A, T>(xr[c]) - m) * inv);
    }
  }
}

// y, dy, dx: [N, C].
template <class T>
__global__ void softmax_bwd_kernel(const T* y, const T* dy, T* dx, int64_t N, int64_t C, bool log) {
  using A = acc_t<T>;
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const T* yr = y + n * C;
    const T* gr = dy + n * C;
    T* dr = dx + n * C;
    A s = 0;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x)
      s += log ? load_as<A, T>(gr[c]) : load_as<A, T>(gr[c]) * load_as<A, T>(yr[c]);
    s = block_reduce<A>(s, SumOp(), A(0));
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      const A yv = load_as<A, T>(yr[c]), g = load_as<A, T>(gr[c]);
      dr[c] = store_as<T, A>(log ? g - std::exp(yv) * s : yv * (g - s));
    }
  }
}

}  // namespace

void softmax(const Tensor& x, const Tensor& y, int64_t N, int64_t C, bool log) {
  dispatch_floating(x.dtype(), log ? "log_softmax" : "softmax", [&](auto tag) {
    using T = typename decltype(tag)::type;
    softmax_kernel<T><<<row_grid(N), row_block(C), 0, stream()>>>(static_cast<const T*>(x.data_ptr()),
                                                                  static_cast<T*>(y.data_ptr()), N, C, log);
  });
  LINEA_CUDA_LAUNCH_CHECK();
}

void softmax_bwd(const Tensor& y, const Tensor& dy, const Tensor& dx, int64_t N, int64_t C, bool log) {
  dispatch_floating(y.dtype(), log ? "log_softmax backward" : "softmax backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    softmax_bwd_kernel<T><<<row_grid(N), row_block(C), 0, stream()>>>(
        static_cast<const T*>(y.data_ptr()), static_cast<const T*>(dy.data_ptr()), static_cast<T*>(dx.data_ptr()), N,
        C, log);
  });
  LINEA_CUDA_LAUNCH_CHECK();
}

}  // namespace linea::cuda
