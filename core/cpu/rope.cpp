// CPU RoPE rotation (rotate-half pairs i, i + D/2) in f32 (f64 for f64), rows over threads.
#include <algorithm>

#include "core/cpu/parallel.h"
#include "core/kernels/rope.h"

namespace linea::cpu {

// x, y: [N, T, D]; cos/sin: row t at t * D/2.
void rope(const Tensor& x, const Tensor& cos, const Tensor& sin, const Tensor& y, int64_t N, int64_t T, int64_t D,
          bool inverse) {
  dispatch_floating(x.dtype(), inverse ? "rope backward" : "rope", [&](auto tag) {
    using E = typename decltype(tag)::type;
    using A = acc_t<E>;
    const E* xp = static_cast<const E*>(x.data_ptr());
    E* yp = static_cast<E*>(y.data_ptr());
    const float* cp = static_cast<const float*>(cos.data_ptr());
    const float* sp = static_cast<const float*>(sin.data_ptr());
    const int64_t half = D / 2;
    const A sign = inverse ? A(-1) : A(1);
    parallel_for(N * T, std::max<int64_t>(1, (1 << 15) / D), [=](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; ++row) {
        const E* xr = xp + row * D;
        E* yr = yp + row * D;
        const float* cr = cp + (row % T) * half;
        const float* sr = sp + (row % T) * half;
#pragma omp simd
        for (int64_t i = 0; i < half; ++i) {
          const A c = A(cr[i]), s = sign * A(sr[i]);
          const A x1 = load_as<A, E>(xr[i]), x2 = load_as<A, E>(xr[i + half]);
          yr[i] = store_as<E, A>(x1 * c - x2 * s);
          yr[i + half] = store_as<E, A>(x2 * c + x1 * s);
        }
      }
    });
  });
}

}  // namespace linea::cpu
