// rope: gradchecks, values against the direct rotate-half formula, identity at position 0,
// norm preservation per pair, table offsets, the Llama 3.1 inv_freq rule, and errors.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functional.h"
#include "core/kernels/rope.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

namespace {

kernels::RopeTables tables(int64_t T, int64_t D, double theta = 10000) {
  return kernels::rope_tables(T, D, theta, nullptr, Device::cpu());
}

TEST(RopeGrad, Gradcheck) {
  for (Shape s : {Shape{2, 3, 5, 4}, Shape{1, 2, 7, 6}}) {
    kernels::RopeTables tb = tables(s[2], s[3]);
    auto fn = [tb](const std::vector<Variable>& x) { return rope(x[0], tb.cos, tb.sin); };
    LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_tensor(s, s[2])}));
  }
  // A transposed [B,T,H,D] view as the input.
  kernels::RopeTables tb = tables(5, 4);
  auto fn = [tb](const std::vector<Variable>& x) { return rope(x[0], tb.cos, tb.sin); };
  LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_tensor({2, 5, 3, 4}, 9).transpose(1, 2)}));
}

TEST(RopeValues, MatchTheDirectFormula) {
  const int64_t B = 2, H = 3, T = 7, D = 8, half = D / 2;
  const double theta = 500000;
  Tensor x = random_tensor({B, H, T, D}, 1);
  kernels::RopeTables tb = tables(T, D, theta);
  Tensor y = rope(Variable(x), tb.cos, tb.sin).data();
  std::vector<double> ref(size_t(x.numel()));
  for (int64_t bh = 0; bh < B * H; ++bh) {
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t i = 0; i < half; ++i) {
        // cos/sin are rounded to f32 once: the reference uses the exact angle, so allow 1e-7.
        const double a = double(t) * std::pow(theta, -2.0 * double(i) / double(D));
        const double x1 = x.at({bh / H, bh % H, t, i}), x2 = x.at({bh / H, bh % H, t, i + half});
        ref[size_t((bh * T + t) * D + i)] = x1 * std::cos(a) - x2 * std::sin(a);
        ref[size_t((bh * T + t) * D + i + half)] = x2 * std::cos(a) + x1 * std::sin(a);
      }
    }
  }
  EXPECT_TRUE(all_close(y, Tensor::from_vector(ref, x.shape(), DType::f64), 1e-7, 0));
  // Position 0 is the identity; every (i, i + D/2) pair keeps its norm.
  for (int64_t bh = 0; bh < B * H; ++bh) {
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t i = 0; i < half; ++i) {
        const std::vector<int64_t> a{bh / H, bh % H, t, i}, b{bh / H, bh % H, t, i + half};
        if (t == 0) {
          EXPECT_EQ(y.at(a), x.at(a));
          EXPECT_EQ(y.at(b), x.at(b));
        }
        EXPECT_NEAR(std::hypot(y.at(a), y.at(b)), std::hypot(x.at(a), x.at(b)), 1e-7);
      }
    }
  }
  // The backward undoes the rotation; f32 and bf16 keep their dtype.
  EXPECT_TRUE(all_close(kernels::rope_bwd(y, tb.cos, tb.sin), x, 1e-7, 0));
  for (DType dt : {DType::f32, DType::bf16}) {
    Tensor yd = kernels::rope_fwd(x.to(dt), tb.cos, tb.sin);
    EXPECT_EQ(yd.dtype(), dt);
    EXPECT_TRUE(all_close(yd, y, dt == DType::f32 ? 1e-6 : 2e-2, dt == DType::f32 ? 1e-6 : 1e-2)) << dtype_name(dt);
  }
}

TEST(RopeTables, OffsetAndLongerTables) {
  kernels::RopeTables full = tables(10, 6), tail = kernels::rope_tables(4, 6, 10000, nullptr, Device::cpu(), 6);
  EXPECT_TRUE(all_close(tail.cos, full.cos.narrow(0, 6, 4), 0, 0));
  EXPECT_TRUE(all_close(tail.sin, full.sin.narrow(0, 6, 4), 0, 0));
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(full.cos.at({0, i}), 1.0);
    EXPECT_EQ(full.sin.at({0, i}), 0.0);
  }
  // A table longer than T: rows past T are unused.
  Tensor x = random_tensor({1, 2, 4, 6}, 3);
  EXPECT_TRUE(all_close(kernels::rope_fwd(x, full.cos, full.sin),
                        kernels::rope_fwd(x, full.cos.narrow(0, 0, 4), full.sin.narrow(0, 0, 4)), 0, 0));
}

TEST(RopeTables, Llama31ScaledInvFreq) {
  // Llama 3.1: D = 128, theta = 5e5, factor 8, low 1, high 4, original context 8192. The
  // expected values follow the rule documented in core/kernels/rope.h, evaluated in Python.
  kernels::RopeScaling s;
  std::vector<double> inv = kernels::rope_inv_freq(128, 500000, &s);
  std::vector<double> plain = kernels::rope_inv_freq(128, 500000, nullptr);
  ASSERT_EQ(inv.size(), 64u);
  EXPECT_DOUBLE_EQ(inv[0], 1.0);                     // wavelen 6.28 < 2048: unchanged
  EXPECT_DOUBLE_EQ(inv[28], 0.003211445994752591);   // wavelen 1956 < 2048: unchanged
  EXPECT_DOUBLE_EQ(inv[30], 0.0013718935677611381);  // wavelen 2948: smoothed
  EXPECT_DOUBLE_EQ(inv[32], 0.0005248461609929547);  // wavelen 4443: smoothed
  EXPECT_DOUBLE_EQ(inv[40], 3.428102195952591e-05);  // wavelen 22911 > 8192: divided by 8
  EXPECT_DOUBLE_EQ(inv[63], 3.068925988914511e-07);
  EXPECT_DOUBLE_EQ(inv[40], plain[40] / 8);
  // The tables use the scaled frequencies.
  kernels::RopeTables tb = kernels::rope_tables(3, 128, 500000, &s, Device::cpu());
  EXPECT_NEAR(tb.sin.at({2, 30}), std::sin(2 * 0.0013718935677611381), 1e-8);
}

TEST(RopeErrors, ShapesAndDtypes) {
  kernels::RopeTables tb = tables(5, 4);
  linea::testing::expect_error<ShapeError>([&] { rope(Variable(Tensor::zeros({1, 1, 5, 3})), tb.cos, tb.sin); }, "head dim D must be even");
  linea::testing::expect_error<ShapeError>([&] { rope(Variable(Tensor::zeros({1, 1, 6, 4})), tb.cos, tb.sin); },
               "cos f32[5, 2] on cpu should be f32[>= 6, 2]");
  linea::testing::expect_error<ShapeError>([&] { rope(Variable(Tensor::zeros({1, 1, 5, 8})), tb.cos, tb.sin); }, "should be f32[>= 5, 4]");
  linea::testing::expect_error<ShapeError>([&] { rope(Variable(Tensor::zeros({1, 1, 5, 4})), tb.cos, tb.sin.to(DType::f64)); }, "sin f64[5, 2]");
  linea::testing::expect_error<ShapeError>([&] { kernels::rope_tables(4, 5, 10000, nullptr, Device::cpu()); },
               "head dim must be positive and even");
  kernels::RopeScaling bad;
  bad.high_freq_factor = 0.5;
  linea::testing::expect_error<ShapeError>([&] { kernels::rope_inv_freq(8, 10000, &bad); }, "0 < low_freq_factor < high_freq_factor");
}

}  // namespace
