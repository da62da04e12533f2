#include <cfloat>

#include "core/cuda/check.cuh"
#include "core/kernels/reduce.h"

namespace linea::cuda {
namespace {

__device__ __forceinline__ int64_t inner_offset(const ReducePlan& p, int64_t r) {
  if (p.inner.ndim == 0) return 0;
  if (p.inner.ndim == 1) return r * p.inner.strides[0][0];
  int64_t o[1];
  p.inner.offsets(r, o);
  return o[0];
}

// Combines (value, index) pairs; for max, the larger value wins and the smaller index breaks
// ties. A NaN beats every number and, among NaNs, the smaller index wins too, so the result
// is the CPU's (the first NaN of the row) whatever order the threads combine in.
template <class A>
__device__ __forceinline__ void combine(ReduceOp op, A& v, int64_t& i, A ov, int64_t oi) {
  if (op != ReduceOp::max) {
    v += ov;
    return;
  }
  const bool o_nan = ov != ov, v_nan = v != v;
  const bool take = o_nan ? (!v_nan || oi < i) : (!v_nan && (ov > v || (ov == v && oi < i)));
  if (take) { v = ov; i = oi; }
}

// One block per output: threads stride over the reduced elements, then a shared-memory tree.
template <class T>
__global__ void reduce_rows_kernel(const T* x, T* y, int64_t* argmax, ReducePlan p, ReduceOp op) {
  using A = acc_t<T>;
  __shared__ A sv[kBlock];
  __shared__ int64_t si[kBlock];
  for (int64_t o = blockIdx.x; o < p.out_count; o += gridDim.x) {
    int64_t base[1];
    p.outer.offsets(o, base);
    A v = op == ReduceOp::max ? A(-INFINITY) : A(0);
    int64_t idx = 0;
    for (int64_t r = threadIdx.x; r < p.reduce_count; r += blockDim.x)
      combine<A>(op, v, idx, load_as<A, T>(x[base[0] + inner_offset(p, r)]), r);
    sv[threadIdx.x] = v;
    si[threadIdx.x] = idx;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
      if (threadIdx.x < s) combine<A>(op, sv[threadIdx.x], si[threadIdx.x], sv[threadIdx.x + s], si[threadIdx.x + s]);
      __syncthreads();
    }
    if (threadIdx.x == 0) {
      A r = sv[0];
      if (op == ReduceOp::mean) r /= A(p.reduce_count);
      y[o] = store_as<T, A>(r);
      if (argmax) argmax[o] = si[0];
    }
    __syncthreads();
  }
}

// Leading reduced dims of a contiguous x: one thread per output column, coalesced rows.
template <class T>
__global__ void reduce_columns_kernel(const T* x, T* y, int64_t* argmax, ReducePlan p, ReduceOp op) {
  using A = acc_t<T>;
  const int64_t C = p.out_count;
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < C; c += int64_t(gridDim.x) * blockDim.x) {
    A v = op == ReduceOp::max ? A(-INFINITY) : A(0);
    int64_t idx = 0;
    for (int64_t r = 0; r < p.reduce_count; ++r) combine<A>(op, v, idx, load_as<A, T>(x[r * C + c]), r);
    if (op == ReduceOp::mean) v /= A(p.reduce_count);
    y[c] = store_as<T, A>(v);
    if (argmax) argmax[c] = idx;
  }
}

template <class T>
__global__ void max_bwd_kernel(const T* dy, const int64_t* argmax, T* dx, ReducePlan p) {
  for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < p.out_count; o += int64_t(gridDim.x) * blockDim.x) {
    int64_t base[1];
    p.outer.offsets(o, base);
    dx[base[0] + inner_offset(p, argmax[o])] = dy[o];
  }
}

}  // namespace

void reduce(ReduceOp op, const Tensor& x, const Tensor& y, const Tensor& argmax, const ReducePlan& p) {
  dispatch_floating(x.dtype(), reduce_op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xp = static_cast<const T*>(x.data_ptr());
    T* yp = static_cast<T*>(y.data_ptr());
    int64_t* ap = argmax.defined() ? static_cast<int64_t*>(argmax.data_ptr()) : nullptr;
    if (p.columns)
      reduce_columns_kernel<T><<<grid_for(p.out_count), kBlock, 0, stream()>>>(xp, yp, ap, p, op);
    else
      reduce_rows_kernel<T><<<unsigned(std::min<int64_t>(p.out_count, 65535 * 16)), kBlock, 0, stream()>>>(xp, yp, ap, p, op);
  });
  LINEA_CUDA_LAUNCH_CHECK();
}

void max_bwd(const Tensor& dy, const Tensor& argmax, const Tensor& dx, const ReducePlan& p) {
  dispatch_floating(dx.dtype(), "max backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    max_bwd_kernel<T><<<grid_for(p.out_count), kBlock, 0, stream()>>>(
        static_cast<const T*>(dy.data_ptr()), static_cast<const int64_t*>(argmax.data_ptr()),
        static_cast<T*>(dx.data_ptr()), p);
  });
  LINEA_CUDA_LAUNCH_CHECK();
}

}  // namespace linea::cuda
