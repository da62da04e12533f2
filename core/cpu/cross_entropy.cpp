// CPU fused cross-entropy forward and backward: rows split across OpenMP threads, one
// max pass and one sum-exp pass per row forward, one fused pass per row backward.
#include "core/kernels/cross_entropy.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/cpu/rowwise.h"

namespace linea::cpu {
namespace {

[[noreturn]] void throw_bad_target(int64_t row, int64_t id, int64_t V, int64_t ignore_index) {
  throw DataError(str_cat("cross_entropy: target ", id, " at row ", row, " is outside [0, ", V,
                          ") and is not ignore_index (", ignore_index, ")"));
}

}  // namespace

// logits: [N, V]; targets, lse: [N]. Per-row losses are summed serially afterwards, so
// the result does not depend on the thread count.
void cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index, const Tensor& lse,
                   const Tensor& count, const Tensor& loss, int64_t N, int64_t V) {
  dispatch_logits_targets(logits, targets, "cross_entropy", [&](auto ttag, auto itag) {
    using T = typename decltype(ttag)::type;
    using I = typename decltype(itag)::type;
    using A = acc_t<T>;
    const T* xp = static_cast<const T*>(logits.data_ptr());
    const I* tp = static_cast<const I*>(targets.data_ptr());
    A* lp = static_cast<A*>(lse.data_ptr());
    std::vector<A> row_loss(N, A(0));
    int64_t bad = N;  // first row with an invalid target
#pragma omp parallel for if (N * V > kRowParallelGrain)
    for (int64_t n = 0; n < N; ++n) {
      const int64_t t = int64_t(tp[n]);
      lp[n] = 0;
      if (t == ignore_index) continue;
      if (t < 0 || t >= V) {
#pragma omp critical(linea_cross_entropy_bad)
        bad = std::min(bad, n);
        continue;
      }
      const T* xr = xp + n * V;
      const A m = row_max<T, A>(xr, V);
      const A log_sum = std::log(row_sum_exp<T, A>(xr, V, m));
      lp[n] = m + log_sum;
      row_loss[n] = (m - load_as<A, T>(xr[t])) + log_sum;  // not lse - x[t]: exact for logits ~1e3
    }
    if (bad < N) throw_bad_target(bad, int64_t(tp[bad]), V, ignore_index);
    A sum = 0, valid = 0;
    for (int64_t n = 0; n < N; ++n) {
      sum += row_loss[n];
      valid += int64_t(tp[n]) != ignore_index ? A(1) : A(0);
    }
    *static_cast<A*>(count.data_ptr()) = valid;
    *static_cast<T*>(loss.data_ptr()) = store_as<T, A>(sum / std::max(valid, A(1)));
  });
}

// dlogits[n] = (exp(logits[n] - lse[n]) - onehot(t)) * dloss / max(count, 1), 0 if ignored.
void cross_entropy_bwd(const Tensor& dloss, const Tensor& logits, const Tensor& targets, const Tensor& lse,
                       const Tensor& count, int64_t ignore_index, const Tensor& dlogits, int64_t N, int64_t V) {
  dispatch_logits_targets(logits, targets, "cross_entropy backward", [&](auto ttag, auto itag) {
    using T = typename decltype(ttag)::type;
    using I = typename decltype(itag)::type;
    using A = acc_t<T>;
    const T* xp = static_cast<const T*>(logits.data_ptr());
    const I* tp = static_cast<const I*>(targets.data_ptr());
    const A* lp = static_cast<const A*>(lse.data_ptr());
    T* dp = static_cast<T*>(dlogits.data_ptr());
    const A scale = load_as<A, T>(*static_cast<const T*>(dloss.data_ptr())) /
                    std::max(*static_cast<const A*>(count.data_ptr()), A(1));
    int64_t bad = N;
#pragma omp parallel for if (N * V > kRowParallelGrain)
    for (int64_t n = 0; n < N; ++n) {
      const int64_t t = int64_t(tp[n]);
      const T* xr = xp + n * V;
      T* dr = dp + n * V;
      if (t == ignore_index || t < 0 || t >= V) {
        std::fill(dr, dr + V, store_as<T, A>(A(0)));
        if (t != ignore_index) {
#pragma omp critical(linea_cross_entropy_bad)
          bad = std::min(bad, n);
        }
        continue;
      }
      const A l = lp[n];
#pragma omp simd
      for (int64_t c = 0; c < V; ++c) dr[c] = store_as<T, A>(exp_nonpos<A>(load_as<A, T>(xr[c]) - l) * scale);
      dr[t] = store_as<T, A>((exp_nonpos<A>(load_as<A, T>(xr[t]) - l) - A(1)) * scale);
    }
    if (bad < N) throw_bad_target(bad, int64_t(tp[bad]), V, ignore_index);
  });
}

}  // namespace linea::cpu
