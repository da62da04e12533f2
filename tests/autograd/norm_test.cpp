// layer_norm / rms_norm: gradchecks with and without weight/bias on odd and strided
// shapes, values against the direct formula, saved statistics, dtypes and errors.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functional.h"
#include "core/kernels/norm.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

namespace {

// Reference in double: layer_norm (centered) or rms_norm of x [*, C]; w, b may be undefined.
Tensor reference(const Tensor& x, const Tensor& w, const Tensor& b, double eps, bool centered) {
  std::vector<double> v = x.to_vector(), out(v.size());
  std::vector<double> wv = w.defined() ? w.to_vector() : std::vector<double>();
  std::vector<double> bv = b.defined() ? b.to_vector() : std::vector<double>();
  const int64_t C = x.size(-1);
  for (size_t r = 0; r < v.size() / C; ++r) {
    double mu = 0, ss = 0;
    if (centered)
      for (int64_t c = 0; c < C; ++c) mu += v[r * C + c] / C;
    for (int64_t c = 0; c < C; ++c) ss += (v[r * C + c] - mu) * (v[r * C + c] - mu) / C;
    for (int64_t c = 0; c < C; ++c) {
      double y = (v[r * C + c] - mu) / std::sqrt(ss + eps);
      out[r * C + c] = y * (wv.empty() ? 1.0 : wv[c]) + (bv.empty() ? 0.0 : bv[c]);
    }
  }
  return Tensor::from_vector(out, x.shape(), DType::f64);
}

TEST(LayerNormGrad, GradcheckWithAndWithoutAffine) {
  auto full = [](const std::vector<Variable>& x) { return layer_norm(x[0], x[1], x[2], 1e-5); };
  auto weight_only = [](const std::vector<Variable>& x) { return layer_norm(x[0], x[1], Variable(), 1e-5); };
  auto bare = [](const std::vector<Variable>& x) { return layer_norm(x[0]); };
  LINEA_EXPECT_GRADCHECK(full, (std::vector<Tensor>{random_tensor({3, 7}, 1), random_tensor({7}, 2, 0.5, 1.5),
                                                    random_tensor({7}, 3)}));
  LINEA_EXPECT_GRADCHECK(full, (std::vector<Tensor>{random_strided({2, 3, 5}, 4), random_tensor({5}, 5, 0.5, 1.5),
                                                    random_tensor({5}, 6)}));
  LINEA_EXPECT_GRADCHECK(weight_only, (std::vector<Tensor>{random_strided({4, 6}, 7), random_tensor({6}, 8)}));
  LINEA_EXPECT_GRADCHECK(bare, (std::vector<Tensor>{random_tensor({2, 3, 5}, 9)}));
}

TEST(LayerNormGrad, ManyRowsUseSeveralGradientParts) {
  // 150 rows > kNormGradParts: dweight/dbias are summed from uneven row parts.
  static_assert(kernels::kNormGradParts < 150);
  auto full = [](const std::vector<Variable>& x) { return layer_norm(x[0], x[1], x[2]); };
  LINEA_EXPECT_GRADCHECK(full, (std::vector<Tensor>{random_tensor({150, 3}, 10), random_tensor({3}, 11),
                                                    random_tensor({3}, 12)}));
}

TEST(RmsNormGrad, GradcheckWithAndWithoutWeight) {
  auto weighted = [](const std::vector<Variable>& x) { return rms_norm(x[0], x[1], 1e-6); };
  auto bare = [](const std::vector<Variable>& x) { return rms_norm(x[0]); };
  LINEA_EXPECT_GRADCHECK(weighted, (std::vector<Tensor>{random_tensor({3, 7}, 13), random_tensor({7}, 14, 0.5, 1.5)}));
  LINEA_EXPECT_GRADCHECK(weighted, (std::vector<Tensor>{random_strided({2, 3, 5}, 15), random_tensor({5}, 16)}));
  LINEA_EXPECT_GRADCHECK(weighted, (std::vector<Tensor>{random_tensor({130, 3}, 17), random_tensor({3}, 18)}));
  LINEA_EXPECT_GRADCHECK(bare, (std::vector<Tensor>{random_strided({4, 6}, 19)}));
}

TEST(NormValues, MatchTheDirectFormulaAndSaveStatistics) {
  Tensor x = random_strided({3, 4, 9}, 20, -2, 3);
  Tensor w = random_tensor({9}, 21), b = random_tensor({9}, 22);
  EXPECT_TRUE(all_close(layer_norm(Variable(x), Variable(w), Variable(b), 1e-5).data(),
                        reference(x, w, b, 1e-5, true), 1e-12, 1e-12));
  EXPECT_TRUE(all_close(rms_norm(Variable(x), Variable(w), 1e-6).data(), reference(x, w, Tensor(), 1e-6, false), 1e-12,
                        1e-12));
  Tensor mean, rstd;
  Tensor xh = x.to(DType::bf16);
  kernels::layer_norm(xh, Tensor(), Tensor(), 1e-5, &mean, &rstd);
  EXPECT_EQ(mean.dtype(), DType::f32);  // statistics stay f32 for bf16 inputs
  EXPECT_EQ(rstd.shape(), (Shape{3, 4}));
  double mu = 0, var = 0;
  for (int64_t c = 0; c < 9; ++c) mu += xh.at({1, 2, c}) / 9;
  for (int64_t c = 0; c < 9; ++c) var += (xh.at({1, 2, c}) - mu) * (xh.at({1, 2, c}) - mu) / 9;
  EXPECT_NEAR(mean.at({1, 2}), mu, 1e-6);
  EXPECT_NEAR(rstd.at({1, 2}), 1 / std::sqrt(var + 1e-5), 1e-5);
}

TEST(NormValues, LargeOffsetDoesNotCancel) {
  // Two-pass statistics: with a 1e4 offset on unit-scale data, E[x^2] - E[x]^2 in f32 would
  // lose every digit of the variance (ulp(1e8) = 8); the centered sum only carries the
  // f32 rounding of the mean (~1e-3 of the unit scale).
  Tensor x = random_tensor({4, 512}, 23);
  Tensor shifted = Tensor::from_vector([&] {
    std::vector<double> v = x.to_vector();
    for (double& e : v) e += 1e4;
    return v;
  }(), x.shape(), DType::f32);
  Tensor y = layer_norm(Variable(shifted)).data();
  EXPECT_TRUE(all_close(y, reference(shifted.to(DType::f64), Tensor(), Tensor(), 1e-5, true), 1e-2, 1e-2));
}

TEST(NormValues, ReducedPrecisionKeepsDtypes) {
  Tensor x = random_tensor({6, 200}, 24, -2, 2);
  for (DType t : {DType::bf16, DType::f16}) {
    Variable v(x.to(t), true), w(Tensor::ones({200}, t), true), b(Tensor::zeros({200}, t), true);
    Variable y = layer_norm(v, w, b);
    EXPECT_EQ(y.dtype(), t);
    EXPECT_TRUE(all_close(y.data(), reference(x.to(t).to(DType::f64), Tensor(), Tensor(), 1e-5, true), 0.02, 0.02))
        << dtype_name(t);
    sum(mul(y, y)).backward();
    EXPECT_EQ(v.grad().dtype(), t);
    EXPECT_EQ(w.grad().dtype(), t);
    EXPECT_EQ(b.grad().shape(), (Shape{200}));
  }
}

TEST(NormErrors, WeightShapeDtypeAndEmptyRowsAreReported) {
  Variable x(Tensor::zeros({2, 5}));
  try {
    layer_norm(x, Variable(Tensor::ones({4})));
    FAIL();
  } catch (const ShapeError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("layer_norm: weight must be [5]"), std::string::npos) << m;
    EXPECT_NE(m.find("[4]"), std::string::npos) << m;
  }
  try {
    rms_norm(x, Variable(Tensor::ones({5}, DType::bf16)));
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("rms_norm: dtype mismatch"), std::string::npos) << e.what();
  }
  try {
    layer_norm(Variable(Tensor::zeros({3, 0})));
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("C > 0"), std::string::npos) << e.what();
  }
}

}  // namespace
