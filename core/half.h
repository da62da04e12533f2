// bf16 and f16 storage types with round-to-nearest-even conversion, usable on host and
// device so CPU and CUDA kernels round identically.
#pragma once
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#if defined(__CUDACC__)
#define LINEA_HD __host__ __device__ __forceinline__
#else
#define LINEA_HD inline __attribute__((always_inline))  // loops vectorize only if inlined
#endif

namespace linea {

LINEA_HD uint32_t float_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
#endif
}
LINEA_HD float bits_float(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}

struct bf16 {
  uint16_t bits;
  bf16() = default;
  LINEA_HD explicit bf16(float f) : bits(from_float(f)) {}
  LINEA_HD explicit operator float() const { return bits_float(uint32_t(bits) << 16); }
  LINEA_HD static uint16_t from_float(float f) {
    uint32_t u = float_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest, ties to even
    return uint16_t(u >> 16);
  }
};

struct f16 {
  uint16_t bits;
  f16() = default;
  LINEA_HD explicit f16(float f) : bits(from_float(f)) {}
  LINEA_HD explicit operator float() const { return to_float(bits); }

  LINEA_HD static uint16_t from_float(float f) {
    uint32_t x = float_bits(f);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u) return uint16_t(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u : 0u));
    if (absx >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // rounds to inf
    if (absx < 0x38800000u) {                                   // subnormal half or zero
      // Shift the implicit-one mantissa into place and round to nearest even.
      if (absx < 0x33000000u) return uint16_t(sign);
      uint32_t exp = absx >> 23;
      uint32_t mant = (absx & 0x7fffffu) | 0x800000u;
      uint32_t shift = 126u - exp;  // 14..24
      uint32_t half_mant = mant >> shift;
      uint32_t rem = mant & ((1u << shift) - 1u);
      uint32_t halfway = 1u << (shift - 1u);
      if (rem > halfway || (rem == halfway && (half_mant & 1u))) ++half_mant;
      return uint16_t(sign | half_mant);
    }
    uint32_t r = absx + 0xc8000fffu + ((absx >> 13) & 1u);  // rebias exponent, round to even
    return uint16_t(sign | (r >> 13));
  }
  LINEA_HD static float to_float(uint16_t h) {
    uint32_t sign = uint32_t(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    if (exp == 0x1fu) return bits_float(sign | 0x7f800000u | (mant << 13));
    if (exp == 0) {
      if (mant == 0) return bits_float(sign);
      // Subnormal: value = mant * 2^-24.
      float v = float(mant) * 5.9604644775390625e-8f;
      return sign ? -v : v;
    }
    return bits_float(sign | ((exp + 112u) << 23) | (mant << 13));
  }
};

// Scalar load/store through float for the half types; identity otherwise.
template <class T> struct AccType { using type = float; };
template <> struct AccType<double> { using type = double; };
template <class T> using acc_t = typename AccType<T>::type;

template <class T> constexpr bool is_half_v = std::is_same_v<T, bf16> || std::is_same_v<T, f16>;

template <class A, class T> LINEA_HD A load_as(T v) {
  if constexpr (is_half_v<T>) return A(float(v));
  else return A(v);
}
template <class T, class A> LINEA_HD T store_as(A v) {
  if constexpr (is_half_v<T>) return T(float(v));
  else return T(v);
}

// Converts between any two element types: integers exactly, everything else through
// float (double when either side is double). Floating to integer truncates toward zero,
// saturates out-of-range values to the type's limits and maps NaN to 0 (what CUDA's
// conversions do), so both devices agree where a plain C++ cast is undefined.
template <class D, class S> LINEA_HD D convert_value(S v) {
  if constexpr (std::is_integral_v<S> && std::is_integral_v<D>) {
    return D(v);
  } else {
    using A = std::conditional_t<std::is_same_v<S, double> || std::is_same_v<D, double>, double, float>;
    const A a = load_as<A, S>(v);
    if constexpr (std::is_integral_v<D>) {
      // A(min) is exact and A(max) is exact or rounds up, so every value strictly between
      // them truncates into range.
      constexpr A lo = A(std::numeric_limits<D>::min()), hi = A(std::numeric_limits<D>::max());
      return a != a ? D(0) : a <= lo ? std::numeric_limits<D>::min() : a >= hi ? std::numeric_limits<D>::max() : D(a);
    } else {
      return store_as<D, A>(a);
    }
  }
}

}  // namespace linea
