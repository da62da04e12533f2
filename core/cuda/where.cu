// CUDA where: out = cond ? a : b over broadcast strided operands, one thread per element.
#include "core/cuda/check.cuh"
#include "core/kernels/where.h"

namespace linea::cuda {
namespace {
template <class T>
__global__ void where_kernel(const uint8_t* cond, const T* a, const T* b, T* out, StridedOffsets<4> idx, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t o[4];
    idx.offsets(i, o);
    out[o[3]] = cond[o[0]] ? a[o[1]] : b[o[2]];
  }
}
}  // namespace

void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out, const StridedOffsets<4>& idx) {
  const int64_t n = out.numel();
  dispatch_floating(a.dtype(), "where", [&](auto tag) {
    using T = typename decltype(tag)::type;
    where_kernel<T><<<grid_for(n), kBlock, 0, stream()>>>(
        static_cast<const uint8_t*>(cond.data_ptr()), static_cast<const T*>(a.data_ptr()),
        static_cast<const T*>(b.data_ptr()), static_cast<T*>(out.data_ptr()), idx, n);
  });
  LINEA_CUDA_LAUNCH_CHECK();
}

}  // namespace linea::cuda
