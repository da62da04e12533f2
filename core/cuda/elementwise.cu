#include "core/cuda/check.cuh"
#include "core/kernels/elementwise.h"

namespace linea::cuda {
namespace {

#define LINEA_GRID_STRIDE_LOOP(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

template <UnaryOp Op, class T>
__global__ void unary_fwd_kernel(const T* x, T* y, acc_t<T> a, acc_t<T> b, StridedOffsets<2> idx, int64_t n) {
  using A = acc_t<T>;
  LINEA_GRID_STRIDE_LOOP(i, n) {
    int64_t o[2] = {i, i};
    if (!idx.all_contiguous) idx.offsets(i, o);
    y[o[1]] = store_as<T, A>(math::unary_fwd<Op, A>(load_as<A, T>(x[o[0]]), a, b));
  }
}

template <UnaryOp Op, class T>
__global__ void unary_bwd_kernel(const T* x, const T* y, const T* dy, T* dx, acc_t<T> a, acc_t<T> b,
                                 StridedOffsets<4> idx, int64_t n) {
  using A = acc_t<T>;
  LINEA_GRID_STRIDE_LOOP(i, n) {
    int64_t o[4] = {i, i, i, i};
    if (!idx.all_contiguous) idx.offsets(i, o);
    dx[o[3]] = store_as<T, A>(
        math::unary_bwd<Op, A>(load_as<A, T>(x[o[0]]), load_as<A, T>(y[o[1]]), load_as<A, T>(dy[o[2]]), a, b));
  }
}

template <BinaryOp Op, class T>
__global__ void binary_fwd_kernel(const T* a, const T* b, T* y, StridedOffsets<3> idx, int64_t n) {
  using A = acc_t<T>;
  LINEA_GRID_STRIDE_LOOP(i, n) {
    int64_t o[3] = {i, i, i};
    if (!idx.all_contiguous) idx.offsets(i, o);
    y[o[2]] = store_as<T, A>(math::binary_fwd<Op, A>(load_as<A, T>(a[o[0]]), load_as<A, T>(b[o[1]])));
  }
}

template <BinaryOp Op, class T>
__global__ void binary_bwd_kernel(const T* a, const T* b, const T* dy, acc_t<T>* ga, acc_t<T>* gb,
                                  StridedOffsets<3> idx, int64_t n) {
  using A = acc_t<T>;
  LINEA_GRID_STRIDE_LOOP(i, n) {
    int64_t o[3] = {i, i, i};
    if (!idx.all_contiguous) idx.offsets(i, o);
    A da, db;
    math::binary_bwd<Op, A>(load_as<A, T>(a[o[0]]), load_as<A, T>(b[o[1]]), load_as<A, T>(dy[o[2]]), da, db);
    if (ga) ga[i] = da;
    if (gb) gb[i] = db;
  }
}

}  // namespace

void unary_fwd(UnaryOp op, const Tensor& x, const Tensor& y, double a, double b, const StridedOffsets<2>& idx) {
  const int64_t n = x.numel();
  dispatch_floating(x.dtype(), unary_op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    dispatch_unary_op(op, [&](auto opc) {
      unary_fwd_kernel<decltype(opc)::value, T><<<grid_for(n), kBlock, 0, stream()>>>(
          static_cast<const T*>(x.data_ptr()), static_cast<T*>(y.data_ptr()), acc_t<T>(a), acc_t<T>(b), idx, n);
    });
  });
  LINEA_CUDA_LAUNCH_CHECK();
}

void unary_bwd(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& dx, double a, double b,
               const StridedOffsets<4>& idx) {
  const int64_t n = x.numel();
  dispatch_floating(x.dtype(), unary_op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    dispatch_unary_op(op, [&](auto opc) {
      unary_bwd_kernel<decltype(opc)::value, T><<<grid_for(n), kBlock, 0, stream()>>>(
          static_cast<const T*>(x.data_ptr()), static_cast<const T*>(y.data_ptr()),
          static_cast<const T*>(dy.data_ptr()), static_cast<T*>(dx.data_ptr()), acc_t<T>(a), acc_t<T>(b), idx, n);
    });
  });
  LINEA_CUDA_LAUNCH_CHECK();
}

void binary_fwd(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& y, const StridedOffsets<3>& idx) {
  const int64_t n = y.numel();
  dispatch_floating(a.dtype(), binary_op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    dispatch_binary_op(op, [&](auto opc) {
      binary_fwd_kernel<decltype(opc)::value, T><<<grid_for(n), kBlock, 0, stream()>>>(
          static_cast<const T*>(a.data_ptr()), static_cast<const T*>(b.data_ptr()), static_cast<T*>(y.data_ptr()),
          idx, n);
    });
  });
  LINEA_CUDA_LAUNCH_CHECK();
}

void binary_bwd(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& dy, const Tensor& ga, const Tensor& gb,
                const StridedOffsets<3>& idx) {
  const int64_t n = dy.numel();
  dispatch_floating(a.dtype(), binary_op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = acc_t<T>;
    dispatch_binary_op(op, [&](auto opc) {
      binary_bwd_kernel<decltype(opc)::value, T><<<grid_for(n), kBlock, 0, stream()>>>(
          static_cast<const T*>(a.data_ptr()), static_cast<const T*>(b.data_ptr()),
          static_cast<const T*>(dy.data_ptr()), ga.defined() ? static_cast<A*>(ga.data_ptr()) : nullptr,
          gb.defined() ? static_cast<A*>(gb.data_ptr()) : nullptr, idx, n);
    });
  });
  LINEA_CUDA_LAUNCH_CHECK();
}

}  // namespace linea::cuda
