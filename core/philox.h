// Philox4x32-10 counter-based RNG (Salmon et al., SC'11), identical on host and device.
// Element i of a draw keyed by (seed, offset) depends only on (seed, offset, i), so random
// tensors are the same on CPU and CUDA and for any thread count.
#pragma once
#include <cstdint>

#include "core/half.h"

namespace linea {

struct Philox4x32 {
  static constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  static constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;

  LINEA_HD static void mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
    uint64_t p = uint64_t(a) * uint64_t(b);
    hi = uint32_t(p >> 32);
    lo = uint32_t(p);
  }

  // Ten rounds on counter c with key k; returns four 32-bit words in out.
  LINEA_HD static void block(const uint32_t c_in[4], uint32_t k0, uint32_t k1, uint32_t out[4]) {
    uint32_t c0 = c_in[0], c1 = c_in[1], c2 = c_in[2], c3 = c_in[3];
    for (int r = 0; r < 10; ++r) {
      uint32_t hi0, lo0, hi1, lo1;
      mulhilo(kM0, c0, hi0, lo0);
      mulhilo(kM1, c2, hi1, lo1);
      uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
      c0 = n0; c1 = n1; c2 = n2; c3 = n3;
      k0 += kW0;
      k1 += kW1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
  }

  // The 32-bit word for element `i` of the stream (seed, offset): counter = offset + i / 4,
  // lane = i % 4.
  LINEA_HD static uint32_t word(uint64_t seed, uint64_t offset, uint64_t i) {
    uint64_t ctr = offset + i / 4;
    uint32_t c[4] = {uint32_t(ctr), uint32_t(ctr >> 32), 0u, 0u};
    uint32_t out[4];
    block(c, uint32_t(seed), uint32_t(seed >> 32), out);
    return out[i % 4];
  }
};

// Uniform in [0, 1) with 24 random bits: exact in float, the same on every device.
LINEA_HD float uniform_from_word(uint32_t w) { return float(w >> 8) * (1.0f / 16777216.0f); }

}  // namespace linea
