// Philox4x32-10 against the Random123 known-answer vectors, and the stream rules that
// make random tensors identical for any thread count and device.
#include <gtest/gtest.h>

#include <cmath>

#include "core/philox.h"
#include "core/rng.h"

using namespace linea;

TEST(Philox, KnownAnswerVectors) {
  // Random123 kat_vectors, philox4x32 with 10 rounds.
  uint32_t out[4];
  uint32_t zero[4] = {0, 0, 0, 0};
  Philox4x32::block(zero, 0, 0, out);
  EXPECT_EQ(out[0], 0x6627e8d5u);
  EXPECT_EQ(out[1], 0xe169c58du);
  EXPECT_EQ(out[2], 0xbc57ac4cu);
  EXPECT_EQ(out[3], 0x9b00dbd8u);
  uint32_t ones[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu};
  Philox4x32::block(ones, 0xffffffffu, 0xffffffffu, out);
  EXPECT_EQ(out[0], 0x408f276du);
  EXPECT_EQ(out[1], 0x41c83b0eu);
  EXPECT_EQ(out[2], 0xa20bc7c6u);
  EXPECT_EQ(out[3], 0x6d5451fdu);
  uint32_t pi[4] = {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u};
  Philox4x32::block(pi, 0xa4093822u, 0x299f31d0u, out);
  EXPECT_EQ(out[0], 0xd16cfe09u);
  EXPECT_EQ(out[1], 0x94fdccebu);
  EXPECT_EQ(out[2], 0x5001e420u);
  EXPECT_EQ(out[3], 0x24126ea1u);
}

TEST(Rng, SameSeedAndOffsetGiveTheSameNumbersAndOffsetsAdvance) {
  Generator a(42), b(42);
  Tensor x = rand_uniform({1000}, a), y = rand_uniform({1000}, b);
  EXPECT_EQ(x.to_vector(), y.to_vector());
  EXPECT_EQ(a.offset(), 250u);  // 1000 numbers = 250 Philox blocks of 4
  Tensor z = rand_uniform({1000}, a);
  EXPECT_NE(x.to_vector(), z.to_vector());
  // A draw resumed from a saved (seed, offset) continues the stream exactly.
  Generator c(42, 250);
  EXPECT_EQ(rand_uniform({1000}, c).to_vector(), z.to_vector());
}

TEST(Rng, DistributionsHaveTheRightMoments) {
  Generator g(7);
  const int n = 200000;
  std::vector<double> u = rand_uniform({n}, g).to_vector();
  std::vector<double> z = rand_normal({n}, g).to_vector();
  Tensor bt = Tensor::empty({n});
  bernoulli_(bt, g, 0.3);
  std::vector<double> bv = bt.to_vector();
  double mu = 0, mz = 0, vz = 0, mb = 0;
  for (int i = 0; i < n; ++i) {
    EXPECT_TRUE(u[i] >= 0.0 && u[i] < 1.0);
    mu += u[i];
    mz += z[i];
    vz += z[i] * z[i];
    mb += bv[i];
  }
  mu /= n; mz /= n; vz /= n; mb /= n;
  // Standard errors: uniform mean 0.29/sqrt(n) ~ 6.5e-4; normal mean 2.2e-3, var 3.2e-3;
  // bernoulli 1.0e-3. Bounds are 5 standard errors.
  EXPECT_NEAR(mu, 0.5, 3.3e-3);
  EXPECT_NEAR(mz, 0.0, 1.1e-2);
  EXPECT_NEAR(vz, 1.0, 1.6e-2);
  EXPECT_NEAR(mb, 0.3, 5.1e-3);
}

TEST(Rng, ThreadCountDoesNotChangeTheStream) {
  Generator a(9);
  Tensor big = rand_uniform({1 << 16}, a);  // parallel fill
  for (int64_t i : {0, 1, 4097, 65535}) {
    float expected = uniform_from_word(Philox4x32::word(9, 0, uint64_t(i)));
    EXPECT_EQ(float(big.at({i})), expected);
  }
}
