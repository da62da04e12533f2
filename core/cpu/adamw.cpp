#include "core/cpu/parallel.h"
#include "core/kernels/adamw.h"

namespace linea::cpu {
namespace {
constexpr int64_t kParallelGrain = 1 << 14;  // below this, threads cost more than they save
}

void adamw_update(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                  const Tensor& master, const AdamWCoefficients& c) {
  dispatch_floating(param.dtype(), "adamw_update", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = acc_t<T>;
    T* pp = static_cast<T*>(param.data_ptr());
    const T* gp = static_cast<const T*>(grad.data_ptr());
    A* mp = static_cast<A*>(exp_avg.data_ptr());
    A* vp = static_cast<A*>(exp_avg_sq.data_ptr());
    A* wp = master.defined() ? static_cast<A*>(master.data_ptr()) : nullptr;
    parallel_for(param.numel(), kParallelGrain, [=](int64_t begin, int64_t end) {
      T* p = pp;
      const T* g = gp;
      A *m = mp, *v = vp, *w = wp;
      const A decay = A(c.decay), b1 = A(c.beta1), omb1 = A(c.one_minus_beta1), b2 = A(c.beta2),
              omb2 = A(c.one_minus_beta2), step_size = A(c.step_size), bc2 = A(c.bias_correction2_sqrt),
              eps = A(c.eps);
      if constexpr (is_half_v<T>) {
#pragma omp simd
        for (int64_t i = begin; i < end; ++i) {
          w[i] = math::adamw_element<A>(w[i], load_as<A, T>(g[i]), m[i], v[i], decay, b1, omb1, b2, omb2, step_size,
                                        bc2, eps);
          p[i] = store_as<T, A>(w[i]);
        }
      } else {
#pragma omp simd
        for (int64_t i = begin; i < end; ++i)
          p[i] = math::adamw_element<A>(p[i], g[i], m[i], v[i], decay, b1, omb1, b2, omb2, step_size, bc2, eps);
      }
    });
  });
}

}  // namespace linea::cpu
