// CUDA cumsum: one thread per (outer, inner) line walking n sequentially; neighbouring
// threads read neighbouring columns, so accesses coalesce when inner > 1.
#include "core/cuda/check.cuh"
#include "core/kernels/cumsum.h"

namespace linea::cuda {
namespace {
template <class T>
__global__ void cumsum_kernel(const T* x, T* y, ScanGeometry g) {
  using A = acc_t<T>;
  const int64_t lines = g.outer * g.inner;
  for (int64_t l = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; l < lines; l += int64_t(gridDim.x) * blockDim.x) {
    const int64_t o = l / g.inner, c = l % g.inner;
    A run = A(0);
    for (int64_t s = 0; s < g.n; ++s) {
      const int64_t k = g.reverse ? g.n - 1 - s : s;
      const int64_t i = (o * g.n + k) * g.inner + c;
      run += load_as<A, T>(x[i]);
      y[i] = store_as<T, A>(run);
    }
  }
}
}  // namespace

void cumsum(const Tensor& x, const Tensor& y, const ScanGeometry& g) {
  dispatch_floating(x.dtype(), "cumsum", [&](auto tag) {
    using T = typename decltype(tag)::type;
    cumsum_kernel<T><<<grid_for(g.outer * g.inner), kBlock, 0, stream()>>>(static_cast<const T*>(x.data_ptr()),
                                                                          static_cast<T*>(y.data_ptr()), g);
  });
  LINEA_CUDA_LAUNCH_CHECK();
}

}  // namespace linea::cuda
