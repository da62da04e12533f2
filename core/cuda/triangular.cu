// CUDA tril / triu: one thread per element; out is contiguous.
#include "core/cuda/check.cuh"
#include "core/kernels/triangular.h"

namespace linea::cuda {
namespace {
template <class T>
__global__ void triangular_kernel(const T* x, T* out, TriangleSpec s, T fill, StridedOffsets<2> idx, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = i % s.cols, r = (i / s.cols) % s.rows;
    int64_t o[2] = {i, i};
    if (!idx.all_contiguous) idx.offsets(i, o);
    out[i] = s.keep(r, c) ? x[o[0]] : fill;
  }
}
}  // namespace

void triangular(const Tensor& x, const Tensor& out, const TriangleSpec& s, double value,
                const StridedOffsets<2>& idx) {
  const int64_t n = out.numel();
  dispatch_floating(x.dtype(), "triangular", [&](auto tag) {
    using T = typename decltype(tag)::type;
    triangular_kernel<T><<<grid_for(n), kBlock, 0, stream()>>>(static_cast<const T*>(x.data_ptr()),
                                                               static_cast<T*>(out.data_ptr()), s,
                                                               store_as<T, double>(value), idx, n);
  });
  LINEA_CUDA_LAUNCH_CHECK();
}

}  // namespace linea::cuda
