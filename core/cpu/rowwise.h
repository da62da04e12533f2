// Helpers shared by the CPU row-wise kernels (softmax, norms, cross-entropy) over a
// contiguous [N, C] matrix: a vectorizable exp, row max / sum-exp reductions, the grain.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "core/half.h"

namespace linea::cpu {

// Rows are split across threads only when the matrix is big enough to pay for them.
constexpr int64_t kRowParallelGrain = 1 << 15;

// exp(x) for x <= 0, the only arguments the row kernels need (x - max, x - logsumexp,
// a log-probability), in a form GCC vectorizes inside `omp simd` loops (std::exp is a
// scalar libm call without -ffast-math): Cody-Waite reduction x = k ln2 + r and the
// Cephes degree-6 polynomial, within 2 ulp of expf. Below -87.3 it returns 0, so masked
// (-inf) logits get exactly 0; NaN propagates; x > 0 is clamped to 0 (never happens in
// the callers). double (gradcheck) uses std::exp.
template <class A>
__attribute__((always_inline)) inline A exp_nonpos(A x) {
  if constexpr (std::is_same_v<A, double>) {
    return std::exp(x);
  } else {
    const float xc = x < -87.3f ? -87.3f : (x > 0.0f ? 0.0f : x);  // NaN passes through
    // k = round(x / ln2) in [-126, 0] by the 1.5 * 2^23 trick (std::floor is a libm call here).
    const float k = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    const float r = xc - k * 0.693359375f + k * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const int32_t ki = k == k ? int32_t(k) : 0;  // k is NaN only when x is, and then p already is
    const float v = p * bits_float(uint32_t(ki + 127) << 23);
    return x < -87.3f ? 0.0f : v;
  }
}

// max over row[0, C) in the accumulation type. It may skip NaNs; callers still produce
// NaN for such rows because exp(NaN - m) poisons the row's sum.
template <class T, class A>
inline A row_max(const T* row, int64_t C) {
  A m = -std::numeric_limits<A>::infinity();
#pragma omp simd reduction(max : m)
  for (int64_t c = 0; c < C; ++c) m = std::max(m, load_as<A, T>(row[c]));
  return m;
}

// sum over the row of exp(row[c] - m).
template <class T, class A>
inline A row_sum_exp(const T* row, int64_t C, A m) {
  A s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t c = 0; c < C; ++c) s += exp_nonpos<A>(load_as<A, T>(row[c]) - m);
  return s;
}

}  // namespace linea::cpu
