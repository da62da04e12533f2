// GEMM timing: a median time per GEMM that is positive and finite for both layouts, and a
// throughput that fits the FLOP count (so MFU's denominator is a rate, not a time).
#include <gtest/gtest.h>

#include <cmath>

#include "train/gemm_timing.h"

using namespace linea;

TEST(GemmTiming, TimesBothLayoutsOfASmallGemm) {
  for (bool trans_b : {false, true}) {
    const double s = time_gemm(GemmShape{64, 48, 32, trans_b}, DType::f32, Device::cpu(), /*quick=*/true);
    EXPECT_TRUE(std::isfinite(s)) << trans_b;
    EXPECT_GT(s, 0.0) << trans_b;
    // 2 * 64 * 48 * 32 FLOPs cannot take a second on any machine that runs these tests.
    EXPECT_LT(s, 1.0) << trans_b;
  }
}
