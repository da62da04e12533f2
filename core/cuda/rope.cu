// CUDA RoPE rotation: one thread per (row, pair i) of x [N, T, D], f32 math (tables f32).
#include "core/cuda/check.cuh"
#include "core/kernels/rope.h"

namespace linea::cuda {
namespace {

// x, y: [N, T, D]; cos/sin: row t at t * half. sign = -1 rotates by the negative angle.
template <class E>
__global__ void rope_kernel(const E* x, const float* cos, const float* sin, E* y, int64_t pairs, int64_t T,
                            int64_t half, float sign) {
  using A = acc_t<E>;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < pairs;
       idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t row = idx / half, i = idx % half, t = row % T;
    const A c = A(cos[t * half + i]), s = A(sign * sin[t * half + i]);
    const E* xr = x + row * 2 * half;
    E* yr = y + row * 2 * half;
    const A x1 = load_as<A, E>(xr[i]), x2 = load_as<A, E>(xr[i + half]);
    yr[i] = store_as<E, A>(x1 * c - x2 * s);
    yr[i + half] = store_as<E, A>(x2 * c + x1 * s);
  }
}

}  // namespace

void rope(const Tensor& x, const Tensor& cos, const Tensor& sin, const Tensor& y, int64_t N, int64_t T, int64_t D,
          bool inverse) {
  const int64_t pairs = N * T * (D / 2);
  dispatch_floating(x.dtype(), inverse ? "rope backward" : "rope", [&](auto tag) {
    using E = typename decltype(tag)::type;
    rope_kernel<E><<<grid_for(pairs), kBlock, 0, stream()>>>(
        static_cast<const E*>(x.data_ptr()), static_cast<const float*>(cos.data_ptr()),
        static_cast<const float*>(sin.data_ptr()), static_cast<E*>(y.data_ptr()), pairs, T, D / 2,
        inverse ? -1.0f : 1.0f);
  });
  LINEA_CUDA_LAUNCH_CHECK();
}

}  // namespace linea::cuda
