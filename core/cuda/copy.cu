#include "core/cuda/check.cuh"
#include "core/kernels/copy.h"

namespace linea::cuda {
namespace {

template <class D, class S>
__global__ void copy_kernel(D* out, const S* in, StridedOffsets<2> idx, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t off[2];
    if (idx.all_contiguous) {
      off[0] = off[1] = i;
    } else {
      idx.offsets(i, off);
    }
    out[off[0]] = convert_value<D, S>(in[off[1]]);
  }
}

template <class D>
__global__ void fill_kernel(D* out, D v, StridedOffsets<1> idx, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t off[1];
    idx.offsets(i, off);
    out[off[0]] = v;
  }
}

}  // namespace

void copy(const Tensor& dst, const Tensor& src, const StridedOffsets<2>& idx) {
  const int64_t n = dst.numel();
  dispatch_all(dst.dtype(), "copy", [&](auto dt) {
    using D = typename decltype(dt)::type;
    dispatch_all(src.dtype(), "copy", [&](auto st) {
      using S = typename decltype(st)::type;
      copy_kernel<D, S><<<grid_for(n), kBlock, 0, stream()>>>(static_cast<D*>(dst.data_ptr()),
                                                             static_cast<const S*>(src.data_ptr()), idx, n);
      LINEA_CUDA_LAUNCH_CHECK();
    });
  });
}

void fill(const Tensor& dst, double value, const StridedOffsets<1>& idx) {
  const int64_t n = dst.numel();
  dispatch_all(dst.dtype(), "fill", [&](auto dt) {
    using D = typename decltype(dt)::type;
    const D v = convert_value<D, double>(value);
    fill_kernel<D><<<grid_for(n), kBlock, 0, stream()>>>(static_cast<D*>(dst.data_ptr()), v, idx, n);
    LINEA_CUDA_LAUNCH_CHECK();
  });
}

}  // namespace linea::cuda
