// CPU layer_norm / rms_norm forward and backward (one implementation; `mean` undefined
// means rms_norm): rows split across OpenMP threads, vectorized passes per row.
#include "core/kernels/norm.h"

#include <algorithm>
#include <cmath>

#include "core/cpu/rowwise.h"

namespace linea::cpu {

// x, y: [N, C]; weight, bias: [C] or null; mean, rstd: [N]. Two-pass statistics (mean,
// then the centered sum of squares) so large offsets do not cancel.
void norm_fwd(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
              const Tensor& mean, const Tensor& rstd, int64_t N, int64_t C) {
  const bool centered = mean.defined();
  dispatch_floating(x.dtype(), centered ? "layer_norm" : "rms_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = acc_t<T>;
    const T* xp = static_cast<const T*>(x.data_ptr());
    const T* wp = weight.defined() ? static_cast<const T*>(weight.data_ptr()) : nullptr;
    const T* bp = bias.defined() ? static_cast<const T*>(bias.data_ptr()) : nullptr;
    T* yp = static_cast<T*>(y.data_ptr());
    A* mp = centered ? static_cast<A*>(mean.data_ptr()) : nullptr;
    A* rp = static_cast<A*>(rstd.data_ptr());
#pragma omp parallel for if (N * C > kRowParallelGrain)
    for (int64_t n = 0; n < N; ++n) {
      const T* xr = xp + n * C;
      T* yr = yp + n * C;
      A mu = 0;
      if (centered) {
        mu = blocked_sum<A>(C, [&](int64_t c) { return load_as<A, T>(xr[c]); }) / A(C);
        mp[n] = mu;
      }
      const A ss = blocked_sum<A>(C, [&](int64_t c) {
        const A d = load_as<A, T>(xr[c]) - mu;
        return d * d;
      });
      const A rs = A(1) / std::sqrt(ss / A(C) + A(eps));
      rp[n] = rs;
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) {
        A v = (load_as<A, T>(xr[c]) - mu) * rs;
        if (wp) v *= load_as<A, T>(wp[c]);
        if (bp) v += load_as<A, T>(bp[c]);
        yr[c] = store_as<T, A>(v);
      }
    }
  });
}

// dy, x, dx: [N, C]; dweight_parts, dbias_parts: [P, C] or null. Each part owns a
// contiguous block of rows and its own partial row, so threads never share a sum.
void norm_bwd(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean, const Tensor& rstd,
              const Tensor& dx, const Tensor& dweight_parts, const Tensor& dbias_parts, int64_t N, int64_t C) {
  const bool centered = mean.defined();
  const int64_t P = std::min(N, kernels::kNormGradParts);
  dispatch_floating(x.dtype(), centered ? "layer_norm backward" : "rms_norm backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = acc_t<T>;
    const T* gp = static_cast<const T*>(dy.data_ptr());
    const T* xp = static_cast<const T*>(x.data_ptr());
    const T* wp = weight.defined() ? static_cast<const T*>(weight.data_ptr()) : nullptr;
    const A* mp = centered ? static_cast<const A*>(mean.data_ptr()) : nullptr;
    const A* rp = static_cast<const A*>(rstd.data_ptr());
    T* dxp = static_cast<T*>(dx.data_ptr());
    A* dwp = dweight_parts.defined() ? static_cast<A*>(dweight_parts.data_ptr()) : nullptr;
    A* dbp = dbias_parts.defined() ? static_cast<A*>(dbias_parts.data_ptr()) : nullptr;
    const A inv_c = A(1) / A(C);
#pragma omp parallel for schedule(dynamic) if (N * C > kRowParallelGrain)
    for (int64_t p = 0; p < P; ++p) {
      A* dw = dwp ? dwp + p * C : nullptr;
      A* db = dbp ? dbp + p * C : nullptr;
      if (dw) std::fill(dw, dw + C, A(0));
      if (db) std::fill(db, db + C, A(0));
      for (int64_t n = p * N / P; n < (p + 1) * N / P; ++n) {
        const T* gr = gp + n * C;
        const T* xr = xp + n * C;
        T* dr = dxp + n * C;
        const A mu = centered ? mp[n] : A(0), rs = rp[n];
        A sg = 0, sgx = 0;  // sum(g), sum(g * xhat)
#pragma omp simd reduction(+ : sg, sgx)
        for (int64_t c = 0; c < C; ++c) {
          const A g = load_as<A, T>(gr[c]) * (wp ? load_as<A, T>(wp[c]) : A(1));
          sg += g;
          sgx += g * (load_as<A, T>(xr[c]) - mu) * rs;
        }
        const A mg = centered ? sg * inv_c : A(0), mgx = sgx * inv_c;
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) {
          const A d = load_as<A, T>(gr[c]), xhat = (load_as<A, T>(xr[c]) - mu) * rs;
          const A g = d * (wp ? load_as<A, T>(wp[c]) : A(1));
          dr[c] = store_as<T, A>(rs * (g - mg - xhat * mgx));
          if (dw) dw[c] += d * xhat;
          if (db) db[c] += d;
        }
      }
    }
  });
}

}  // namespace linea::cpu
