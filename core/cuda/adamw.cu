#include "core/cuda/check.cuh"
#include "core/kernels/adamw.h"

namespace linea::cuda {
namespace {

// One grid-stride pass over the flat parameter. For half params w is the f32 master.
template <class T>
__global__ void adamw_kernel(T* p, const T* g, acc_t<T>* m, acc_t<T>* v, acc_t<T>* master, AdamWCoefficients c,
                             int64_t n) {
  using A = acc_t<T>;
  const A decay = A(c.decay), b1 = A(c.beta1), omb1 = A(c.one_minus_beta1), b2 = A(c.beta2),
          omb2 = A(c.one_minus_beta2), step_size = A(c.step_size), bc2 = A(c.bias_correction2_sqrt), eps = A(c.eps);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    A mi = m[i], vi = v[i];
    const A w = is_half_v<T> ? master[i] : load_as<A, T>(p[i]);
    const A out = math::adamw_element<A>(w, load_as<A, T>(g[i]), mi, vi, decay, b1, omb1, b2, omb2, step_size, bc2, eps);
    m[i] = mi;
    v[i] = vi;
    if constexpr (is_half_v<T>) master[i] = out;
    p[i] = store_as<T, A>(out);
  }
}

}  // namespace

void adamw_update(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                  const Tensor& master, const AdamWCoefficients& c) {
  const int64_t n = param.numel();
  dispatch_floating(param.dtype(), "adamw_update", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = acc_t<T>;
    adamw_kernel<T><<<grid_for(n), kBlock, 0, stream()>>>(
        static_cast<T*>(param.data_ptr()), static_cast<const T*>(grad.data_ptr()),
        static_cast<A*>(exp_avg.data_ptr()), static_cast<A*>(exp_avg_sq.data_ptr()),
        master.defined() ? static_cast<A*>(master.data_ptr()) : nullptr, c, n);
  });
  LINEA_CUDA_LAUNCH_CHECK();
}

}  // namespace linea::cuda
