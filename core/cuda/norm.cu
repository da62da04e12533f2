// CUDA layer_norm / rms_norm forward and backward (one implementation; a null `mean`
// means rms_norm): one block per row for y and dx, a column kernel for dweight/dbias.
#include <cmath>

#include "core/cuda/rowwise.cuh"
#include "core/kernels/norm.h"

namespace linea::cuda {
namespace {

// x, y: [N, C]; weight, bias: [C] or null; mean (null for rms_norm), rstd: [N].
// Two-pass statistics; the re-reads of the row hit L1/L2.
template <class T>
__global__ void norm_fwd_kernel(const T* x, const T* weight, const T* bias, acc_t<T> eps, T* y, acc_t<T>* mean,
                                acc_t<T>* rstd, int64_t N, int64_t C) {
  using A = acc_t<T>;
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const T* xr = x + n * C;
    T* yr = y + n * C;
    A mu = 0;
    if (mean) {
      for (int64_t c = threadIdx.x; c < C; c += blockDim.x) mu += load_as<A, T>(xr[c]);
      mu = block_reduce<A>(mu, SumOp(), A(0)) / A(C);
    }
    A ss = 0;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      const A d = load_as<A, T>(xr[c]) - mu;
      ss += d * d;
    }
    const A rs = A(1) / std::sqrt(block_reduce<A>(ss, SumOp(), A(0)) / A(C) + eps);
    if (threadIdx.x == 0) {
      if (mean) mean[n] = mu;
      rstd[n] = rs;
    }
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      A v = (load_as<A, T>(xr[c]) - mu) * rs;
      if (weight) v *= load_as<A, T>(weight[c]);
      if (bias) v += load_as<A, T>(bias[c]);
      yr[c] = store_as<T, A>(v);
    }
  }
}

// dy, x, dx: [N, C]. dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * weight.
template <class T>
__global__ void norm_dx_kernel(const T* dy, const T* x, const T* weight, const acc_t<T>* mean, const acc_t<T>* rstd,
                               T* dx, int64_t N, int64_t C) {
  using A = acc_t<T>;
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const T* gr = dy + n * C;
    const T* xr = x + n * C;
    T* dr = dx + n * C;
    const A mu = mean ? mean[n] : A(0), rs = rstd[n];
    A sg = 0, sgx = 0;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      const A g = load_as<A, T>(gr[c]) * (weight ? load_as<A, T>(weight[c]) : A(1));
      sg += g;
      sgx += g * (load_as<A, T>(xr[c]) - mu) * rs;
    }
    const A mg = mean ? block_reduce<A>(sg, SumOp(), A(0)) / A(C) : A(0);
    const A mgx = block_reduce<A>(sgx, SumOp(), A(0)) / A(C);
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      const A g = load_as<A, T>(gr[c]) * (weight ? load_as<A, T>(weight[c]) : A(1));
      const A xhat = (load_as<A, T>(xr[c]) - mu) * rs;
      dr[c] = store_as<T, A>(rs * (g - mg - xhat * mgx));
    }
  }
}

// Partial parameter gradients: grid (ceil(C / kBlock), P), one thread per column c of
// part p = blockIdx.y, walking the part's rows so consecutive threads read consecutive
// elements. dweight_parts, dbias_parts: [P, C] or null.
template <class T>
__global__ void norm_param_grad_kernel(const T* dy, const T* x, const acc_t<T>* mean, const acc_t<T>* rstd,
                                       acc_t<T>* dweight_parts, acc_t<T>* dbias_parts, int64_t N, int64_t C) {
  using A = acc_t<T>;
  const int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (c >= C) return;
  const int64_t p = blockIdx.y, P = gridDim.y;
  A dw = 0, db = 0;
  for (int64_t n = p * N / P; n < (p + 1) * N / P; ++n) {
    const A d = load_as<A, T>(dy[n * C + c]);
    dw += d * (load_as<A, T>(x[n * C + c]) - (mean ? mean[n] : A(0))) * rstd[n];
    db += d;
  }
  if (dweight_parts) dweight_parts[p * C + c] = dw;
  if (dbias_parts) dbias_parts[p * C + c] = db;
}

template <class T>
T* ptr_or_null(const Tensor& t) {
  return t.defined() ? static_cast<T*>(t.data_ptr()) : nullptr;
}

}  // namespace

void norm_fwd(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
              const Tensor& mean, const Tensor& rstd, int64_t N, int64_t C) {
  dispatch_floating(x.dtype(), mean.defined() ? "layer_norm" : "rms_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = acc_t<T>;
    norm_fwd_kernel<T><<<row_grid(N), row_block(C), 0, stream()>>>(
        static_cast<const T*>(x.data_ptr()), ptr_or_null<T>(weight), ptr_or_null<T>(bias), A(eps),
        static_cast<T*>(y.data_ptr()), ptr_or_null<A>(mean), static_cast<A*>(rstd.data_ptr()), N, C);
  });
  LINEA_CUDA_LAUNCH_CHECK();
}

void norm_bwd(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean, const Tensor& rstd,
              const Tensor& dx, const Tensor& dweight_parts, const Tensor& dbias_parts, int64_t N, int64_t C) {
  dispatch_floating(x.dtype(), mean.defined() ? "layer_norm backward" : "rms_norm backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = acc_t<T>;
    const T* gp = static_cast<const T*>(dy.data_ptr());
    const T* xp = static_cast<const T*>(x.data_ptr());
    const A* mp = ptr_or_null<A>(mean);
    const A* rp = static_cast<const A*>(rstd.data_ptr());
    norm_dx_kernel<T><<<row_grid(N), row_block(C), 0, stream()>>>(gp, xp, ptr_or_null<T>(weight), mp, rp,
                                                                  static_cast<T*>(dx.data_ptr()), N, C);
    LINEA_CUDA_LAUNCH_CHECK();
    if (!dweight_parts.defined() && !dbias_parts.defined()) return;
    const dim3 grid(unsigned((C + kBlock - 1) / kBlock), unsigned(std::min(N, kernels::kNormGradParts)));
    norm_param_grad_kernel<T><<<grid, kBlock, 0, stream()>>>(gp, xp, mp, rp, ptr_or_null<A>(dweight_parts),
                                                             ptr_or_null<A>(dbias_parts), N, C);
    LINEA_CUDA_LAUNCH_CHECK();
  });
}

}  // namespace linea::cuda
