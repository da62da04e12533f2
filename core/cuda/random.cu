#include "core/cuda/check.cuh"
#include "core/kernels/random.h"

namespace linea::cuda {
namespace {
template <class T>
__global__ void random_kernel(T* out, RandomParams p, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = store_as<T, acc_t<T>>(acc_t<T>(random_value(p, i)));
}
}  // namespace

void random_fill(const Tensor& out, const RandomParams& p) {
  const int64_t n = out.numel();
  dispatch_floating(out.dtype(), "random_fill", [&](auto tag) {
    using T = typename decltype(tag)::type;
    random_kernel<T><<<grid_for(n), kBlock, 0, stream()>>>(static_cast<T*>(out.data_ptr()), p, n);
    LINEA_CUDA_LAUNCH_CHECK();
  });
}

}  // namespace linea::cuda
