// Fused cross_entropy: gradchecks (i32/i64 targets, ignore_index, strided logits), values
// against log_softmax, all-ignored batches, large-logit stability and invalid targets.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functional.h"
#include "core/kernels/cross_entropy.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

namespace {

Tensor ids(const std::vector<double>& v, const Shape& shape, DType t = DType::i64) {
  return Tensor::from_vector(v, shape, t);
}

// Mean over rows with target != ignore of logsumexp(row) - row[target], in double.
double reference(const Tensor& logits, const Tensor& targets, int64_t ignore = -100) {
  std::vector<double> x = logits.to_vector(), t = targets.to_vector();
  const int64_t V = logits.size(-1);
  double sum = 0;
  int64_t count = 0;
  for (size_t r = 0; r < t.size(); ++r) {
    if (int64_t(t[r]) == ignore) continue;
    double m = -INFINITY, s = 0;
    for (int64_t c = 0; c < V; ++c) m = std::max(m, x[r * V + c]);
    for (int64_t c = 0; c < V; ++c) s += std::exp(x[r * V + c] - m);
    sum += m + std::log(s) - x[r * V + int64_t(t[r])];
    ++count;
  }
  return sum / double(count);
}

TEST(CrossEntropyGrad, GradcheckOnOddShapesAndIndexDtypes) {
  auto fn = [](const std::vector<Variable>& x) { return cross_entropy(x[0], x[1].data()); };
  LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_tensor({3, 7}, 1, -3, 3), ids({0, 6, 3}, {3})}));
  LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_strided({2, 3, 5}, 2, -3, 3),
                                                  ids({4, 0, 1, 2, 3, 0}, {2, 3}, DType::i32)}));
  LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_strided({4, 6}, 3, -3, 3), ids({5, 5, 0, 2}, {4})}));
}

TEST(CrossEntropyGrad, IgnoredRowsGetZeroGradientAndDoNotCount) {
  auto fn = [](const std::vector<Variable>& x) { return cross_entropy(x[0], x[1].data(), 2); };
  Tensor t = ids({1, 2, 0, 2, 4}, {5});  // rows 1 and 3 ignored (ignore_index 2)
  LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_tensor({5, 5}, 4, -3, 3), t}));

  Tensor x = random_tensor({5, 5}, 5, -3, 3);
  Variable v(x, true);
  Variable loss = cross_entropy(v, t, 2);
  EXPECT_NEAR(loss.data().item(), reference(x, t, 2), 1e-12);  // mean over the 3 counted rows
  loss.backward();
  for (int64_t c = 0; c < 5; ++c) {
    EXPECT_EQ(v.grad().at({1, c}), 0.0);
    EXPECT_EQ(v.grad().at({3, c}), 0.0);
  }
  // A counted row's gradient is (softmax - onehot) / 3 and sums to zero.
  double row = 0;
  for (int64_t c = 0; c < 5; ++c) row += v.grad().at({4, c});
  EXPECT_NEAR(row, 0.0, 1e-15);
  EXPECT_LT(v.grad().at({4, 4}), 0.0);
}

TEST(CrossEntropyValues, MatchLogSoftmaxNllAndSaveLogsumexp) {
  Tensor x = random_tensor({6, 11}, 6, -4, 4);
  Tensor t = ids({0, 10, 5, 5, 3, 7}, {6});
  EXPECT_NEAR(cross_entropy(Variable(x), t).data().item(), reference(x, t), 1e-12);
  Tensor ls = log_softmax(Variable(x)).data();
  double nll = 0;
  for (int64_t r = 0; r < 6; ++r) nll -= ls.at({r, int64_t(t.at({r}))}) / 6;
  EXPECT_NEAR(cross_entropy(Variable(x), t).data().item(), nll, 1e-12);

  Tensor lse, count;
  Tensor loss = kernels::cross_entropy(x.to(DType::bf16), t, -100, &lse, &count);
  EXPECT_EQ(loss.dtype(), DType::bf16);
  EXPECT_EQ(lse.dtype(), DType::f32);
  EXPECT_EQ(count.item(), 6.0);
  EXPECT_NEAR(loss.item(), reference(x.to(DType::bf16).to(DType::f64), t), 0.02);
  // f32 with the vectorized exp stays within f32 rounding of the double reference.
  EXPECT_NEAR(cross_entropy(Variable(x.to(DType::f32)), t).data().item(), reference(x, t), 1e-5);
}

TEST(CrossEntropyValues, LargeLogitsDoNotOverflow) {
  Tensor x = Tensor::from_vector({1000, 1000, 990, -1000, 0, 1000}, {2, 3}, DType::f32);
  Tensor t = ids({1, 2}, {2});
  Variable v(x, true);
  Variable loss = cross_entropy(v, t);
  // Row 0: log(2 + e^-10); row 1: log(1 + e^-1000 + e^-1000) = 0.
  EXPECT_NEAR(loss.data().item(), std::log(2 + std::exp(-10.0)) / 2, 1e-6);
  loss.backward();
  for (double g : v.grad().to_vector()) EXPECT_TRUE(std::isfinite(g));
  EXPECT_NEAR(v.grad().at({0, 1}), (0.5 - 1) / 2, 1e-4);
}

TEST(CrossEntropyValues, AllRowsIgnoredGiveZeroLossAndZeroGradient) {
  // Documented choice: 0, not PyTorch's NaN, so an all-padding batch is harmless.
  Variable v(random_tensor({3, 4}, 7), true);
  Variable loss = cross_entropy(v, ids({-100, -100, -100}, {3}));
  EXPECT_EQ(loss.data().item(), 0.0);
  loss.backward();
  for (double g : v.grad().to_vector()) EXPECT_EQ(g, 0.0);
  EXPECT_EQ(cross_entropy(Variable(Tensor::zeros({0, 4})), ids({}, {0})).data().item(), 0.0);
}

TEST(CrossEntropyErrors, TargetOutOfRangeNamesRowIdAndV) {
  Variable v(random_tensor({4, 5}, 8), true);
  for (double bad : {5.0, -1.0}) {
    try {
      cross_entropy(v, ids({0, 1, bad, 2}, {4}));
      FAIL();
    } catch (const DataError& e) {
      std::string m = e.what();
      EXPECT_NE(m.find(str_cat("target ", int64_t(bad), " at row 2 is outside [0, 5)")), std::string::npos) << m;
      EXPECT_NE(m.find("ignore_index (-100)"), std::string::npos) << m;
    }
  }
}

TEST(CrossEntropyErrors, ShapeAndDtypeMismatchesAreReported) {
  Variable v(Tensor::zeros({4, 5}));
  try {
    cross_entropy(v, ids({0, 1, 2}, {3}));
    FAIL();
  } catch (const ShapeError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("cross_entropy: targets i64[3]"), std::string::npos) << m;
    EXPECT_NE(m.find("[4]"), std::string::npos) << m;
  }
  try {
    cross_entropy(v, Tensor::zeros({4}));
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("targets must be i32 or i64"), std::string::npos) << e.what();
  }
}

}  // namespace
