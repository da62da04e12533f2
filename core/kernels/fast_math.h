// exp and tanh for f32 in branch-free forms GCC vectorizes on the CPU (libm's expf and
// tanhf are scalar calls without -ffast-math, which would leave transcendental
// elementwise kernels at a few percent of memory bandwidth). Device code uses CUDA's
// expf/tanhf; both are within 2 ulp of the correctly rounded result.
#pragma once
#include <cmath>
#include <type_traits>

#include "core/half.h"

namespace linea::math {

// Cody-Waite reduction x = k ln2 + r, |r| <= ln2 / 2, then the Cephes degree-6 polynomial
// for e^r; 2^k is built in the exponent bits (in two halves so k = 128 stays finite).
LINEA_HD float exp_f32(float x) {
#if defined(__CUDA_ARCH__)
  return expf(x);
#else
  const float xc = x < -87.3f ? -87.3f : (x > 88.72f ? 88.72f : x);  // NaN passes through
  const float k = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round(x / ln2)
  const float r = xc - k * 0.693359375f + k * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t ki = k == k ? int32_t(k) : 0;  // k is NaN only when x is, and then p already is
  const float half_scale = bits_float(uint32_t(ki + 126) << 23);  // 2^(k-1)
  const float v = p * half_scale * 2.0f;
  return x < -87.3f ? 0.0f : (x > 88.72f ? INFINITY : v);
#endif
}

// Cephes tanhf: an odd polynomial for |x| < 0.625, else 1 - 2 / (e^{2|x|} + 1).
LINEA_HD float tanh_f32(float x) {
#if defined(__CUDA_ARCH__)
  return tanhf(x);
#else
  const float ax = x < 0.0f ? -x : x;
  const float s = x * x;
  const float small = ((((-5.70498872745e-3f * s + 2.06390887954e-2f) * s - 5.37397155531e-2f) * s +
                        1.33314422036e-1f) * s - 3.33332819422e-1f) * s * x + x;
  const float big_abs = 1.0f - 2.0f / (exp_f32(2.0f * ax) + 1.0f);
  const float big = x < 0.0f ? -big_abs : big_abs;
  return ax < 0.625f ? small : big;
#endif
}

// Accumulation-type dispatch: f32 takes the fast forms, f64 (gradcheck) the libm ones.
template <class A> LINEA_HD A exp(A x) {
  if constexpr (std::is_same_v<A, float>) return exp_f32(x);
  else return std::exp(x);
}
template <class A> LINEA_HD A tanh(A x) {
  if constexpr (std::is_same_v<A, float>) return tanh_f32(x);
  else return std::tanh(x);
}

}  // namespace linea::math
