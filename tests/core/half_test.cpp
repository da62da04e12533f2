// Element conversions of core/half.h where a plain C++ cast is undefined: floating NaN and
// out-of-range values to integers. Defined as CUDA's conversions behave (NaN -> 0,
// saturation, truncation toward zero), so CPU and GPU copies agree (tests/cuda checks the GPU).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/half.h"
#include "core/tensor.h"

using namespace linea;

namespace {
const std::vector<double> kSpecial = {NAN, INFINITY, -INFINITY, 3e9, -3e9, 1e19, -1e19, 2.7, -2.7, 300, -1, 0.5};
}  // namespace

TEST(HalfConvert, FloatToIntegerSaturatesTruncatesAndMapsNaNToZero) {
  const double i32_max = std::numeric_limits<int32_t>::max(), i32_min = std::numeric_limits<int32_t>::min();
  const double i64_max = double(std::numeric_limits<int64_t>::max()),
               i64_min = double(std::numeric_limits<int64_t>::min());
  const std::vector<double> want_i32 = {0, i32_max, i32_min, i32_max, i32_min, i32_max, i32_min, 2, -2, 300, -1, 0};
  const std::vector<double> want_i64 = {0, i64_max, i64_min, 3e9, -3e9, i64_max, i64_min, 2, -2, 300, -1, 0};
  const std::vector<double> want_u8 = {0, 255, 0, 255, 0, 255, 0, 2, 0, 255, 0, 0};
  for (DType from : {DType::f64, DType::f32}) {
    const Tensor x = Tensor::from_vector(kSpecial, {int64_t(kSpecial.size())}, from);
    EXPECT_EQ(x.to(DType::i32).to_vector(), want_i32) << dtype_name(from);
    EXPECT_EQ(x.to(DType::i64).to_vector(), want_i64) << dtype_name(from);
    EXPECT_EQ(x.to(DType::u8).to_vector(), want_u8) << dtype_name(from);
    // Strided sources take the other copy loop.
    const Tensor pairs = Tensor::from_vector(kSpecial, {2, int64_t(kSpecial.size()) / 2}, from).transpose(0, 1);
    EXPECT_EQ(pairs.to(DType::i32).transpose(0, 1).contiguous().to_vector(), want_i32) << dtype_name(from);
  }
  // Half types widen to float first: f16 overflows 3e9 to inf, which saturates the same way.
  EXPECT_EQ((convert_value<int32_t, f16>(f16(NAN))), 0);
  EXPECT_EQ((convert_value<int32_t, f16>(f16(3e9f))), std::numeric_limits<int32_t>::max());
  EXPECT_EQ((convert_value<int64_t, bf16>(bf16(-1e30f))), std::numeric_limits<int64_t>::min());
  EXPECT_EQ((convert_value<uint8_t, bf16>(bf16(-0.75f))), 0);
}

TEST(HalfConvert, InRangeValuesConvertExactly) {
  EXPECT_EQ((convert_value<int32_t, float>(2147483520.0f)), 2147483520);  // the largest float below 2^31
  EXPECT_EQ((convert_value<int32_t, double>(-2147483648.0)), std::numeric_limits<int32_t>::min());
  EXPECT_EQ((convert_value<uint8_t, float>(254.9f)), 254);
  EXPECT_EQ((convert_value<float, int64_t>(16777217)), 16777216.0f);  // integers to float round as before
}
