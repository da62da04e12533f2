// CPU softmax / log_softmax forward and backward: one row per loop iteration, rows split
// across OpenMP threads, vectorized passes over each row (which stays in cache).
#include "core/kernels/softmax.h"

#include <vector>

#include "core/cpu/rowwise.h"

namespace linea::cpu {

// x, y: [N, C]. Passes per row: max, then exp(x - m) and its sum, then the write. softmax
// keeps exp(x - m) in a per-thread f32 row (f64 for f64) so exp runs once per element and
// bf16/f16 outputs are rounded once.
void softmax(const Tensor& x, const Tensor& y, int64_t N, int64_t C, bool log) {
  dispatch_floating(x.dtype(), log ? "log_softmax" : "softmax", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = acc_t<T>;
    const T* xp = static_cast<const T*>(x.data_ptr());
    T* yp = static_cast<T*>(y.data_ptr());
#pragma omp parallel if (N * C > kRowParallelGrain)
    {
      std::vector<A> scratch(log ? 0 : C);
      A* e = scratch.data();
#pragma omp for
      for (int64_t n = 0; n < N; ++n) {
        const T* xr = xp + n * C;
        T* yr = yp + n * C;
        const A m = row_max<T, A>(xr, C);
        if (log) {
          const A log_sum = std::log(row_sum_exp<T, A>(xr, C, m));  // (x - m) first: exact for x near m
#pragma omp simd
          for (int64_t c = 0; c < C; ++c) yr[c] = store_as<T, A>((load_as<A, T>(xr[c]) - m) - log_sum);
        } else {
          const A sum = blocked_sum<A>(C, [&](int64_t c) {
            e[c] = exp_nonpos<A>(load_as<A, T>(xr[c]) - m);
            return e[c];
          });
          const A inv = A(1) / sum;
#pragma omp simd
          for (int64_t c = 0; c < C; ++c) yr[c] = store_as<T, A>(e[c] * inv);
        }
      }
    }
  });
}

// y, dy, dx: [N, C].
void softmax_bwd(const Tensor& y, const Tensor& dy, const Tensor& dx, int64_t N, int64_t C, bool log) {
  dispatch_floating(y.dtype(), log ? "log_softmax backward" : "softmax backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = acc_t<T>;
    const T* yp = static_cast<const T*>(y.data_ptr());
    const T* gp = static_cast<const T*>(dy.data_ptr());
    T* dxp = static_cast<T*>(dx.data_ptr());
#pragma omp parallel for if (N * C > kRowParallelGrain)
    for (int64_t n = 0; n < N; ++n) {
      const T* yr = yp + n * C;
      const T* gr = gp + n * C;
      T* dr = dxp + n * C;
      if (log) {
        const A s = blocked_sum<A>(C, [&](int64_t c) { return load_as<A, T>(gr[c]); });
#pragma omp simd
        for (int64_t c = 0; c < C; ++c)
          dr[c] = store_as<T, A>(load_as<A, T>(gr[c]) - exp_nonpos<A>(load_as<A, T>(yr[c])) * s);
      } else {
        const A s = blocked_sum<A>(C, [&](int64_t c) { return load_as<A, T>(gr[c]) * load_as<A, T>(yr[c]); });
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) dr[c] = store_as<T, A>(load_as<A, T>(yr[c]) * (load_as<A, T>(gr[c]) - s));
      }
    }
  });
}

}  // namespace linea::cpu
