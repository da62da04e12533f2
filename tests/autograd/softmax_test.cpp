// softmax / log_softmax: gradchecks on odd and non-contiguous shapes, values against the
// direct formula, large-logit stability, reduced-precision dtypes and errors.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functional.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

namespace {

// Row-wise reference in double: softmax (log = false) or log_softmax of x [*, C].
Tensor reference(const Tensor& x, bool log) {
  std::vector<double> v = x.to_vector(), out(v.size());
  const int64_t C = x.size(-1);
  for (size_t r = 0; r < v.size() / C; ++r) {
    double m = -INFINITY, s = 0;
    for (int64_t c = 0; c < C; ++c) m = std::max(m, v[r * C + c]);
    for (int64_t c = 0; c < C; ++c) s += std::exp(v[r * C + c] - m);
    for (int64_t c = 0; c < C; ++c)
      out[r * C + c] = log ? v[r * C + c] - m - std::log(s) : std::exp(v[r * C + c] - m) / s;
  }
  return Tensor::from_vector(out, x.shape(), DType::f64);
}

TEST(SoftmaxGrad, GradcheckOnOddAndStridedShapes) {
  auto sm = [](const std::vector<Variable>& x) { return softmax(x[0]); };
  auto lsm = [](const std::vector<Variable>& x) { return log_softmax(x[0]); };
  for (auto fn : {GradcheckFn(sm), GradcheckFn(lsm)}) {
    LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_tensor({3, 7}, 1, -3, 3)}));
    LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_tensor({2, 3, 5}, 2, -3, 3)}));
    LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_strided({2, 5, 3}, 3, -3, 3)}));
    LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_tensor({6}, 4, -3, 3)}));
  }
}

TEST(SoftmaxValues, MatchTheDirectFormula) {
  for (bool log : {false, true}) {
    for (Tensor x : {random_tensor({4, 9}, 5, -5, 5), random_strided({3, 2, 11}, 6, -5, 5)}) {
      Tensor y = (log ? log_softmax(Variable(x)) : softmax(Variable(x))).data();
      EXPECT_TRUE(all_close(y, reference(x, log), 1e-12, 1e-12)) << (log ? "log_softmax" : "softmax");
    }
  }
  // f32 uses the vectorized exp: within a few ulp of the double reference computed on the
  // same f32-rounded inputs (rounding x in [-10, 10] to f32 alone moves e^x by up to 5e-7
  // relative, so the reference must not see the unrounded values).
  Tensor xf = random_tensor({64, 1000}, 7, -10, 10).to(DType::f32);
  Tensor x = xf.to(DType::f64);
  EXPECT_TRUE(all_close(softmax(Variable(xf)).data(), reference(x, false), 1e-9, 1e-6));
  EXPECT_TRUE(all_close(log_softmax(Variable(xf)).data(), reference(x, true), 1e-5, 1e-6));
}

TEST(SoftmaxValues, LargeLogitsDoNotOverflow) {
  Tensor x = Tensor::from_vector({1000, 1001, 999, -1000, 0, 1000}, {2, 3}, DType::f32);
  Tensor y = softmax(Variable(x)).data();
  Tensor ly = log_softmax(Variable(x)).data();
  EXPECT_TRUE(all_close(y, reference(x.to(DType::f64), false), 1e-7, 1e-6));
  EXPECT_TRUE(all_close(ly, reference(x.to(DType::f64), true), 1e-5, 1e-6));
  for (double v : y.to_vector()) EXPECT_TRUE(std::isfinite(v));
  // -inf logits (masking) get exactly zero probability.
  Tensor masked = Tensor::from_vector({0.5, -INFINITY, 1.5}, {1, 3}, DType::f32);
  EXPECT_EQ(softmax(Variable(masked)).data().at({0, 1}), 0.0);
}

TEST(SoftmaxValues, ReducedPrecisionMatchesF32) {
  Tensor x = random_tensor({5, 300}, 8, -4, 4);
  Tensor ref = softmax(Variable(x.to(DType::f32))).data();
  for (DType t : {DType::bf16, DType::f16}) {
    Variable v(x.to(t), true);
    Variable y = softmax(v);
    EXPECT_EQ(y.dtype(), t);
    // One rounding of the output: 2^-8 (bf16) / 2^-11 (f16) relative, plus input rounding.
    EXPECT_TRUE(all_close(y.data(), ref, 1e-4, t == DType::bf16 ? 0.03 : 0.005)) << dtype_name(t);
    sum(mul(y, y)).backward();
    EXPECT_EQ(v.grad().dtype(), t);
  }
}

TEST(SoftmaxBackward, RowsSumToZeroGradient) {
  // d/dx sum(softmax(x)) = 0 since every row sums to 1.
  Variable x(random_tensor({4, 6}, 9), true);
  sum(softmax(x)).backward();
  for (double g : x.grad().to_vector()) EXPECT_NEAR(g, 0.0, 1e-15);
}

TEST(SoftmaxErrors, RejectIntegerAndScalarInputs) {
  try {
    softmax(Variable(Tensor::zeros({2, 3}, DType::i64)));
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("softmax"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("i64"), std::string::npos) << e.what();
  }
  try {
    log_softmax(Variable(Tensor::scalar(1.0)));
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("log_softmax: expected a tensor with at least 1 dim"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(softmax(Variable(Tensor::zeros({0, 4}))).data().shape(), (Shape{0, 4}));
}

}  // namespace
