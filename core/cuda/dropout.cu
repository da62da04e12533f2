// CUDA dropout masking (forward and backward), one thread per element.
#include "core/cuda/check.cuh"
#include "core/kernels/dropout.h"

namespace linea::cuda {
namespace {
template <class T>
__global__ void dropout_kernel(const T* x, T* y, RandomParams mask, acc_t<T> scale, StridedOffsets<2> idx, int64_t n) {
  using A = acc_t<T>;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t o[2] = {i, i};
    if (!idx.all_contiguous) idx.offsets(i, o);
    y[o[1]] = random_value(mask, i) != 0.0f ? store_as<T, A>(load_as<A, T>(x[o[0]]) * scale) : T(0.0f);
  }
}
}  // namespace

void dropout(const Tensor& x, const Tensor& y, const RandomParams& mask, double scale, const StridedOffsets<2>& idx) {
  const int64_t n = x.numel();
  dispatch_floating(x.dtype(), "dropout", [&](auto tag) {
    using T = typename decltype(tag)::type;
    dropout_kernel<T><<<grid_for(n), kBlock, 0, stream()>>>(static_cast<const T*>(x.data_ptr()),
                                                            static_cast<T*>(y.data_ptr()), mask,
                                                            acc_t<T>(scale), idx, n);
  });
  LINEA_CUDA_LAUNCH_CHECK();
}

}  // namespace linea::cuda
