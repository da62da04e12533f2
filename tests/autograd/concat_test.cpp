// concat, split and cumsum: gradchecks on odd and non-contiguous shapes, values,
// multi-output split gradients, fp32 accumulation, and error messages.
#include <gtest/gtest.h>

#include "autograd/functional.h"
#include "core/kernels/concat.h"
#include "core/kernels/cumsum.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

namespace {

TEST(Concat, ValuesAndGradcheck) {
  Tensor a = Tensor::from_vector({1, 2, 3, 4}, {2, 2}), b = Tensor::from_vector({5, 6}, {2, 1});
  EXPECT_EQ(kernels::concat({a, b}, 1).to_vector(), (std::vector<double>{1, 2, 5, 3, 4, 6}));
  EXPECT_EQ(kernels::concat({a, a.transpose(0, 1)}, 0).to_vector(), (std::vector<double>{1, 2, 3, 4, 1, 3, 2, 4}));
  auto fn = [](const std::vector<Variable>& x) { return concat(x, 1); };
  LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_tensor({3, 2, 5}, 1), random_strided({3, 5, 5}, 2),
                                                  random_tensor({3, 1, 5}, 3)}));
  auto last = [](const std::vector<Variable>& x) { return concat(x, -1); };
  LINEA_EXPECT_GRADCHECK(last, (std::vector<Tensor>{random_strided({4, 3}, 4), random_tensor({4, 2}, 5)}));
}

TEST(Split, ViewsAndMultiOutputGradients) {
  Tensor x = Tensor::arange(10).view({2, 5});
  std::vector<Tensor> parts = kernels::split(x, {2, 0, 3}, 1);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[2].to_vector(), (std::vector<double>{2, 3, 4, 7, 8, 9}));
  EXPECT_EQ(parts[1].shape(), (Shape{2, 0}));
  // Parts used in a different order, one part unused (its gradient is zeros).
  auto fn = [](const std::vector<Variable>& v) {
    std::vector<Variable> p = split(v[0], {1, 3, 2, 1}, 1);
    return concat({p[2], p[0], p[2]}, 1);
  };
  LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_strided({3, 7}, 6)}));
  Variable xv(Tensor::zeros({4, 3}, DType::f64), true);
  std::vector<Variable> p = split(xv, {1, 3}, 0);
  sum(p[1]).backward();
  EXPECT_EQ(xv.grad().to_vector(), (std::vector<double>{0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1}));
}

TEST(ConcatErrors, NameOpAndShapes) {
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
  expect([&] { kernels::concat({a, Tensor::zeros({3, 3})}, 1); }, {"concat", "input 1", "f32[3, 3]", "f32[2, 3]"});
  expect([&] { kernels::concat({a, Tensor::zeros({2, 3}, DType::bf16)}, 0); }, {"concat", "bf16", "f32"});
  expect([&] { kernels::concat({}, 0); }, {"concat", "at least one"});
  expect([&] { kernels::split(a, {1, 1}, 1); }, {"split", "sum to 2", "f32[2, 3]"});
  expect([&] { kernels::cumsum(a, 2); }, {"cumsum", "dim 2"});
}

TEST(Cumsum, ValuesAndGradcheck) {
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(kernels::cumsum(x, 1).to_vector(), (std::vector<double>{1, 3, 6, 4, 9, 15}));
  EXPECT_EQ(kernels::cumsum(x, 0).to_vector(), (std::vector<double>{1, 2, 3, 5, 7, 9}));
  EXPECT_EQ(kernels::cumsum_bwd(x, 1).to_vector(), (std::vector<double>{6, 5, 3, 15, 11, 6}));
  for (int64_t dim : {0, 1, -1}) {
    auto fn = [&](const std::vector<Variable>& v) { return cumsum(v[0], dim); };
    LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_strided({2, 3, 7}, 7 + dim)}));
  }
  auto wide = [](const std::vector<Variable>& v) { return cumsum(v[0], 0); };
  LINEA_EXPECT_GRADCHECK(wide, (std::vector<Tensor>{random_tensor({3, 300}, 10)}));  // > one column block
}

TEST(Cumsum, Bf16AccumulatesInF32) {
  // 2000 steps of 0.01: a bf16 running sum stalls near 2 (0.01 is below half an ulp there).
  Tensor x = Tensor::full({2000}, 0.01, DType::bf16);
  EXPECT_NEAR(kernels::cumsum(x, 0).at({1999}), 2000 * double(float(bf16(0.01f))), 0.1);
}

}  // namespace
