// Gradchecks and values of sum/mean/max over dims, plus the view ops.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functional.h"
#include "core/kernels/reduce.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

TEST(ReduceGrad, SumMeanMaxOverDims) {
  for (bool keepdim : {false, true}) {
    for (std::vector<int64_t> dims : {std::vector<int64_t>{}, {0}, {-1}, {0, 2}, {1}}) {
      auto s = [&](const std::vector<Variable>& x) { return sum(x[0], dims, keepdim); };
      auto m = [&](const std::vector<Variable>& x) { return mean(x[0], dims, keepdim); };
      auto mx = [&](const std::vector<Variable>& x) { return max(x[0], dims, keepdim); };
      LINEA_EXPECT_GRADCHECK(s, (std::vector<Tensor>{random_tensor({3, 4, 5}, 11)}));
      LINEA_EXPECT_GRADCHECK(m, (std::vector<Tensor>{random_strided({3, 5, 4}, 12)}));
      // Random values have distinct maxima, so max is differentiable there.
      LINEA_EXPECT_GRADCHECK(mx, (std::vector<Tensor>{random_strided({3, 4, 5}, 13)}));
    }
  }
}

TEST(ReduceValues, MatchHandComputedResults) {
  Tensor x = Tensor::from_vector({1, 5, 3, 4, 2, 6}, {2, 3});
  Variable v(x);
  EXPECT_EQ(sum(v, {1}).data().to_vector(), (std::vector<double>{9, 12}));
  EXPECT_EQ(mean(v, {0}).data().to_vector(), (std::vector<double>{2.5, 3.5, 4.5}));
  EXPECT_EQ(max(v, {1}, true).data().shape(), (Shape{2, 1}));
  EXPECT_EQ(max(v, {1}).data().to_vector(), (std::vector<double>{5, 6}));
  EXPECT_DOUBLE_EQ(sum(v).data().item(), 21.0);
}

TEST(ReduceValues, LongReductionAndColumnsAgreeWithDouble) {
  // Exercises the chunked (few outputs, long rows) and column (leading dims) CPU paths.
  Tensor x = random_tensor({1 << 16}, 14).to(DType::f32);
  double ref = 0;
  for (double v : x.to_vector()) ref += v;
  EXPECT_NEAR(Variable(x).data().numel(), 1 << 16, 0);
  EXPECT_NEAR(sum(Variable(x)).data().item(), ref, 1e-6 * (1 << 16));
  Tensor m = random_tensor({300, 70}, 15).to(DType::f32);
  Tensor col = sum(Variable(m), {0}).data();
  for (int64_t c = 0; c < 70; c += 23) {
    double r = 0;
    for (int64_t i = 0; i < 300; ++i) r += m.at({i, c});
    EXPECT_NEAR(col.at({c}), r, 1e-4);
  }
}

TEST(ViewGrad, ReshapeTransposePermuteSliceSelectExpand) {
  auto f = [](const std::vector<Variable>& x) {
    Variable a = reshape(x[0], {4, 6});
    Variable b = transpose(a, 0, 1);                 // [6, 4]
    Variable c = slice(b, 0, 1, 6, 2);               // [3, 4]
    Variable d = permute(unsqueeze(c, 0), {2, 0, 1});  // [4, 1, 3]
    Variable e = expand(d, {4, 2, 3});
    return mul(e, select(x[1], 0, 1));
  };
  LINEA_EXPECT_GRADCHECK(f, (std::vector<Tensor>{random_strided({2, 3, 4}, 16), random_tensor({2, 2, 3}, 17)}));
}

TEST(ViewGrad, ContiguousAndDtypeConversion) {
  auto f = [](const std::vector<Variable>& x) { return contiguous(transpose(x[0], 0, 1)); };
  LINEA_EXPECT_GRADCHECK(f, (std::vector<Tensor>{random_tensor({3, 4}, 18)}));
  Variable x(Tensor::ones({2, 2}, DType::f32), true);
  sum(to_dtype(x, DType::bf16)).backward();
  EXPECT_EQ(x.grad().dtype(), DType::f32);
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{1, 1, 1, 1}));
}

TEST(ReduceValues, MaxTakesTheFirstNaNAndTheFirstTie) {
  // The CUDA kernels combine partial results in another order; reduce.h defines the answer.
  const double nan = NAN, inf = INFINITY;
  const std::vector<double> values = {1, nan, 3, nan,  2, 3, 1, 3,  -inf, -inf, -inf, -inf,  0, 5, nan, 5};
  const std::vector<double> first = {1, 1, 0, 2};  // first NaN; first of tied maxima; all -inf; NaN beats 5
  Tensor rows = Tensor::from_vector(values, {4, 4}, DType::f32);
  Tensor arg;
  Tensor y = kernels::reduce(ReduceOp::max, rows, {1}, false, &arg);
  EXPECT_TRUE(std::isnan(y.at({0})));
  EXPECT_EQ(arg.to_vector(), first);
  // The column path (leading dims of a dense tensor) and the chunked path (a few very long rows).
  kernels::reduce(ReduceOp::max, rows.transpose(0, 1).contiguous(), {0}, false, &arg);
  EXPECT_EQ(arg.to_vector(), first);
  std::vector<double> long_row(1 << 16, 0.0);
  long_row[100] = long_row[200] = 7;
  kernels::reduce(ReduceOp::max, Tensor::from_vector(long_row, {1, 1 << 16}, DType::f32), {1}, false, &arg);
  EXPECT_EQ(arg.item(), 100);
  long_row[40000] = long_row[50000] = nan;
  kernels::reduce(ReduceOp::max, Tensor::from_vector(long_row, {1, 1 << 16}, DType::f32), {1}, false, &arg);
  EXPECT_EQ(arg.item(), 40000);
  // max's backward sends each row's gradient to that element only.
  Tensor dx = kernels::reduce_bwd(ReduceOp::max, rows.shape(), Tensor::ones({4}), {1}, false,
                                  Tensor::from_vector(first, {4}, DType::i64));
  EXPECT_EQ(dx.to_vector(), (std::vector<double>{0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0}));
}
