// Helpers shared by the CPU row-wise kernels (softmax, norms, cross-entropy) over a
// contiguous [N, C] matrix: a vectorizable exp, row max / sum-exp reductions, the grain.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "core/half.h"
#include "core/kernels/fast_math.h"

namespace linea::cpu {

// Rows are split across threads only when the matrix is big enough to pay for them.
constexpr int64_t kRowParallelGrain = 1 << 15;

// exp(x) for x <= 0, the only arguments the row kernels need (x - max, x - logsumexp,
// a log-probability), vectorizable (see core/kernels/fast_math.h). Below -87.3 it
// returns 0, so masked (-inf) logits get exactly 0; NaN propagates. double (gradcheck)
// uses std::exp.
template <class A>
__attribute__((always_inline)) inline A exp_nonpos(A x) {
  return math::exp<A>(x);
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

// Sums term(i) for i in [0, n): SIMD sums over blocks of 256, blocks combined in double.
// A plain f32 SIMD reduction over a row rounds ~n / lanes times in sequence (50k-wide
// vocab rows on 4-lane SSE: ~1e-4 relative); blocking bounds that by the block size.
template <class A, class Term>
__attribute__((always_inline)) inline A blocked_sum(int64_t n, const Term& term) {
  constexpr int64_t kBlock = 256;
  double total = 0;
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t e = std::min(n, b + kBlock);
    A s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = b; i < e; ++i) s += term(i);
    total += double(s);
  }
  return A(total);
}

// sum over the row of exp(row[c] - m).
template <class T, class A>
inline A row_sum_exp(const T* row, int64_t C, A m) {
  return blocked_sum<A>(C, [&](int64_t c) { return exp_nonpos<A>(load_as<A, T>(row[c]) - m); });
}

}  // namespace linea::cpu
