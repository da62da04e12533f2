// where, masked_fill, tril and triu: gradchecks with broadcasting and non-contiguous
// inputs, values (including -inf fills), and error messages.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functional.h"
#include "core/kernels/triangular.h"
#include "core/kernels/where.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

namespace {

Tensor mask(const std::vector<double>& v, const Shape& shape) { return Tensor::from_vector(v, shape, DType::u8); }

TEST(Where, ValuesBroadcastAllThree) {
  Tensor c = mask({1, 0, 1}, {3, 1});
  Tensor a = Tensor::from_vector({1, 2}, {2});
  Tensor b = Tensor::from_vector({-1, -2, -3}, {3, 1});
  Tensor y = kernels::where(c, a, b);
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  EXPECT_EQ(y.to_vector(), (std::vector<double>{1, 2, -2, -2, 1, 2}));
}

TEST(Where, GradcheckWithBroadcasting) {
  Tensor c = mask({1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1}, {3, 4});
  auto fn = [&](const std::vector<Variable>& x) { return where(c, x[0], x[1]); };
  LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_strided({3, 4}, 1), random_tensor({3, 4}, 2)}));
  LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_tensor({4}, 3), random_tensor({3, 1}, 4)}));
  Tensor c2 = mask({1, 0, 1, 1, 0}, {5, 1, 1});
  auto fn2 = [&](const std::vector<Variable>& x) { return where(c2, x[0], x[1]); };
  LINEA_EXPECT_GRADCHECK(fn2, (std::vector<Tensor>{random_strided({2, 3}, 5), random_tensor({}, 6)}));
}

TEST(MaskedFill, ValuesAndGradcheck) {
  Tensor m = mask({0, 1, 1}, {3});
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, DType::bf16);
  Tensor y = kernels::masked_fill(x, m, -INFINITY);
  EXPECT_EQ(y.dtype(), DType::bf16);
  EXPECT_EQ(y.to_vector(), (std::vector<double>{1, -INFINITY, -INFINITY, 4, -INFINITY, -INFINITY}));
  auto fn = [&](const std::vector<Variable>& v) { return masked_fill(v[0], m, 2.5); };
  LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_strided({4, 3}, 7)}));
  Variable xv(Tensor::ones({2, 3}, DType::f64), true);
  sum(masked_fill(xv, m, 9.0)).backward();
  EXPECT_EQ(xv.grad().to_vector(), (std::vector<double>{1, 0, 0, 1, 0, 0}));
}

TEST(Triangular, ValuesWithDiagonalsAndFill) {
  Tensor x = Tensor::ones({3, 4});
  EXPECT_EQ(kernels::tril(x).to_vector(), (std::vector<double>{1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0}));
  EXPECT_EQ(kernels::triu(x, 1).to_vector(), (std::vector<double>{0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1}));
  EXPECT_EQ(kernels::tril(x, -1).to_vector(), (std::vector<double>{0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0}));
  // A causal mask: -inf above the diagonal, over a batch of non-contiguous matrices.
  Tensor s = random_strided({2, 3, 3}, 8).to(DType::f16);
  Tensor causal = kernels::tril(s, 0, -INFINITY);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t r = 0; r < 3; ++r)
      for (int64_t c = 0; c < 3; ++c)
        EXPECT_EQ(causal.at({b, r, c}), c > r ? -INFINITY : s.at({b, r, c}));
}

TEST(Triangular, Gradcheck) {
  for (int64_t diag : {-2, 0, 1}) {
    auto lower = [&](const std::vector<Variable>& x) { return tril(x[0], diag); };
    auto upper = [&](const std::vector<Variable>& x) { return triu(x[0], diag, -3.0); };
    LINEA_EXPECT_GRADCHECK(lower, (std::vector<Tensor>{random_strided({2, 5, 3}, 9)}));
    LINEA_EXPECT_GRADCHECK(upper, (std::vector<Tensor>{random_tensor({4, 6}, 10)}));
  }
}

TEST(WhereErrors, NameOpShapesAndDtypes) {
  auto expect = [](auto fn, const std::vector<std::string>& fragments) {
    try {
      fn();
      ADD_FAILURE() << "expected a ShapeError";
    } catch (const ShapeError& e) {
      std::string m = e.what();
      for (const auto& f : fragments) EXPECT_NE(m.find(f), std::string::npos) << "missing '" << f << "' in: " << m;
    }
  };
  Tensor a = Tensor::zeros({2, 3});
  expect([&] { kernels::where(Tensor::zeros({2, 3}), a, a); }, {"where", "u8", "f32[2, 3]"});
  expect([&] { kernels::where(mask({1, 0}, {2}), a, a); }, {"where", "[2]", "[2, 3]"});
  expect([&] { kernels::where(mask({1}, {1}), a, Tensor::zeros({2, 3}, DType::f16)); }, {"where", "f16", "f32"});
  expect([&] { kernels::masked_fill(Tensor::zeros({3}), mask({1, 0, 1, 0, 1, 0}, {2, 3}), 0.0); },
         {"masked_fill", "u8[2, 3]", "f32[3]"});
  expect([&] { kernels::tril(Tensor::zeros({4}), 0); }, {"tril", "2 dims", "f32[4]"});
  expect([&] { kernels::triu(Tensor::zeros({2, 2}, DType::i64), 0); }, {"triu", "i64[2, 2]"});
}

}  // namespace
