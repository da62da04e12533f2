// matmul and linear: gradchecks (transposes, broadcast batches, strided inputs, bias),
// values against a naive triple loop in f32 and bf16, and the error messages.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "autograd/functional.h"
#include "core/kernels/matmul.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

namespace {

using Vars = std::vector<Variable>;
using Tensors = std::vector<Tensor>;

Shape matrix_shape(Shape batch, int64_t rows, int64_t cols, bool trans) {
  batch.push_back(trans ? cols : rows);
  batch.push_back(trans ? rows : cols);
  return batch;
}

// Naive reference in f64 from the (already rounded) input values, with each element's
// sum of |a_ik b_kj| for error bounds. Batch dims broadcast as numpy does.
struct Reference {
  Tensor value, abs_sum;
};
Reference naive_matmul(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  Tensor oa = ta ? a.transpose(-1, -2) : a, ob = tb ? b.transpose(-1, -2) : b;
  const int64_t M = oa.size(-2), K = oa.size(-1), N = ob.size(-1);
  Shape batch = broadcast_shapes("test", Shape(a.shape().begin(), a.shape().end() - 2),
                                 Shape(b.shape().begin(), b.shape().end() - 2));
  Shape out = matrix_shape(batch, M, N, false);
  Tensor ea = oa.expand(matrix_shape(batch, M, K, false)).to(DType::f64).contiguous();
  Tensor eb = ob.expand(matrix_shape(batch, K, N, false)).to(DType::f64).contiguous();
  std::vector<double> va = ea.to_vector(), vb = eb.to_vector(), vc(shape_numel(out)), vs(shape_numel(out));
  for (int64_t i = 0; i < shape_numel(batch); ++i)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double s = 0.0, s_abs = 0.0;
        for (int64_t k = 0; k < K; ++k) {
          double p = va[(i * M + m) * K + k] * vb[(i * K + k) * N + n];
          s += p;
          s_abs += std::abs(p);
        }
        vc[(i * M + m) * N + n] = s;
        vs[(i * M + m) * N + n] = s_abs;
      }
  return {Tensor::from_vector(vc, out, DType::f64), Tensor::from_vector(vs, out, DType::f64)};
}

// |got - ref| <= rel * |ref| + acc * abs_sum + 1e-30 elementwise.
::testing::AssertionResult within_bound(const Tensor& got, const Reference& ref, double rel, double acc) {
  if (got.shape() != ref.value.shape())
    return ::testing::AssertionFailure() << "shape " << got.desc() << " vs " << ref.value.desc();
  std::vector<double> g = got.to_vector(), r = ref.value.to_vector(), s = ref.abs_sum.to_vector();
  for (size_t i = 0; i < g.size(); ++i) {
    double bound = rel * std::abs(r[i]) + acc * s[i] + 1e-30;
    if (!(std::abs(g[i] - r[i]) <= bound))
      return ::testing::AssertionFailure() << "element " << i << ": " << g[i] << " vs " << r[i] << " (bound " << bound
                                           << ")";
  }
  return ::testing::AssertionSuccess();
}

struct TransCase {
  bool ta, tb;
};
class MatmulTranspose : public ::testing::TestWithParam<TransCase> {};

TEST_P(MatmulTranspose, GradcheckOddSizes) {
  const auto [ta, tb] = GetParam();
  auto fn = [ta = ta, tb = tb](const Vars& x) { return matmul(x[0], x[1], ta, tb); };
  // M = 3, K = 5, N = 7: no two equal, so any swapped dim fails the shape checks.
  LINEA_EXPECT_GRADCHECK(fn, (Tensors{random_tensor(matrix_shape({}, 3, 5, ta), 1),
                                      random_tensor(matrix_shape({}, 5, 7, tb), 2)}));
  // Non-contiguous (transposed storage) operands.
  LINEA_EXPECT_GRADCHECK(fn, (Tensors{random_strided(matrix_shape({2}, 3, 5, ta), 3),
                                      random_strided(matrix_shape({2}, 5, 7, tb), 4)}));
}

TEST_P(MatmulTranspose, ValuesMatchNaiveLoopF32AndBf16) {
  const auto [ta, tb] = GetParam();
  // K = 67 and odd M, N exercise Eigen's edge blocks.
  Tensor a = random_tensor(matrix_shape({3}, 33, 67, ta), 5), b = random_tensor(matrix_shape({3}, 67, 29, tb), 6);
  // f32: the only error is fp32 accumulation, |err| <= K u32 sum|a_ik b_kj| (u32 = 2^-24).
  Tensor a32 = a.to(DType::f32), b32 = b.to(DType::f32);
  EXPECT_TRUE(within_bound(kernels::matmul(a32, b32, ta, tb), naive_matmul(a32, b32, ta, tb), 0.0, 67 * 0x1p-24));
  // bf16: the reference uses the same rounded inputs; fp32 accumulation adds K u32 sum|ab|
  // and the final rounding to bf16 at most 2^-8 |c|. A bf16 accumulator would miss this.
  Tensor a16 = a.to(DType::bf16), b16 = b.to(DType::bf16);
  Tensor c16 = kernels::matmul(a16, b16, ta, tb);
  EXPECT_EQ(c16.dtype(), DType::bf16);
  EXPECT_TRUE(within_bound(c16, naive_matmul(a16, b16, ta, tb), 0x1p-8, 67 * 0x1p-24));
}

INSTANTIATE_TEST_SUITE_P(AllCombos, MatmulTranspose,
                         ::testing::Values(TransCase{false, false}, TransCase{true, false}, TransCase{false, true},
                                           TransCase{true, true}),
                         [](const ::testing::TestParamInfo<TransCase>& info) {
                           return std::string(info.param.ta ? "T" : "N") + (info.param.tb ? "T" : "N");
                         });

TEST(MatmulGrad, BroadcastBatches) {
  auto fn = [](const Vars& x) { return matmul(x[0], x[1]); };
  // Equal batches; a shared 2-D b (the folded [B*M, K] GEMM); a shared 2-D a.
  LINEA_EXPECT_GRADCHECK(fn, (Tensors{random_tensor({2, 3, 5}, 7), random_tensor({2, 5, 4}, 8)}));
  LINEA_EXPECT_GRADCHECK(fn, (Tensors{random_tensor({2, 3, 3, 5}, 9), random_tensor({5, 4}, 10)}));
  LINEA_EXPECT_GRADCHECK(fn, (Tensors{random_tensor({3, 5}, 11), random_tensor({2, 5, 4}, 12)}));
  // Size-1 batch dims on both sides ([2, 1] x [1, 3]): no single batch stride exists.
  LINEA_EXPECT_GRADCHECK(fn, (Tensors{random_tensor({2, 1, 3, 5}, 13), random_tensor({1, 3, 5, 4}, 14)}));
  // A lower-rank batch ([3] against [2, 3]) and a [1, K, N] shared operand.
  LINEA_EXPECT_GRADCHECK(fn, (Tensors{random_tensor({2, 3, 3, 5}, 15), random_tensor({3, 5, 4}, 16)}));
  LINEA_EXPECT_GRADCHECK(fn, (Tensors{random_tensor({4, 3, 5}, 17), random_tensor({1, 5, 4}, 18)}));
}

TEST(MatmulGrad, BroadcastWithTransposesAndStridedInputs) {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      auto fn = [ta, tb](const Vars& x) { return matmul(x[0], x[1], ta, tb); };
      // Shared b with a transposed a: no fold, stride-0 batch for b.
      LINEA_EXPECT_GRADCHECK(fn, (Tensors{random_strided(matrix_shape({2, 2}, 3, 5, ta), 19),
                                          random_tensor(matrix_shape({}, 5, 4, tb), 20)}));
      LINEA_EXPECT_GRADCHECK(fn, (Tensors{random_tensor(matrix_shape({}, 3, 5, ta), 21),
                                          random_strided(matrix_shape({3}, 5, 4, tb), 22)}));
    }
  // Neither of the last two strides is 1 (every other column): copied before the GEMM.
  auto fn = [](const Vars& x) { return matmul(x[0], x[1]); };
  LINEA_EXPECT_GRADCHECK(fn, (Tensors{random_tensor({2, 3, 10}, 23).slice(2, 0, 10, 2), random_tensor({5, 4}, 24)}));
}

TEST(MatmulGrad, FrozenOperandGetsNoGradient) {
  Variable a(random_tensor({2, 3, 5}, 25), true);
  Variable w(random_tensor({4, 5}, 26), false);
  sum(matmul(a, w, false, true)).backward();
  EXPECT_TRUE(a.grad().defined());
  EXPECT_FALSE(w.grad().defined());
  // d/da sum(a w^T) = 1 w: every row of a's gradient is the column sums of w^T.
  Tensor expect = kernels::matmul(Tensor::ones({2, 3, 4}, DType::f64), w.data());
  EXPECT_TRUE(all_close(a.grad(), expect, 1e-12, 1e-12));
}

TEST(MatmulValues, BatchedAndLargeGemmsMatchNaiveLoop) {
  // 64 small GEMMs (one per thread) and one GEMM big enough for Eigen's own threads.
  Tensor a = random_tensor({64, 9, 13}, 27, -1, 1, DType::f32), b = random_tensor({64, 13, 11}, 28, -1, 1, DType::f32);
  EXPECT_TRUE(within_bound(kernels::matmul(a, b), naive_matmul(a, b, false, false), 0.0, 13 * 0x1p-24));
  Tensor c = random_tensor({130, 170}, 29, -1, 1, DType::f32), d = random_tensor({170, 150}, 30, -1, 1, DType::f32);
  EXPECT_TRUE(within_bound(kernels::matmul(c, d), naive_matmul(c, d, false, false), 0.0, 170 * 0x1p-24));
  // f16 and f64 dtypes are kept.
  EXPECT_EQ(kernels::matmul(c.to(DType::f16), d.to(DType::f16)).dtype(), DType::f16);
  EXPECT_EQ(kernels::matmul(c.to(DType::f64), d.to(DType::f64)).dtype(), DType::f64);
}

TEST(MatmulValues, EmptyDims) {
  // K = 0 is an empty sum: zeros. M = 0 or a zero batch: an empty result.
  Tensor z = kernels::matmul(Tensor::ones({3, 0}), Tensor::ones({0, 4}));
  EXPECT_EQ(z.shape(), (Shape{3, 4}));
  EXPECT_EQ(z.to_vector(), std::vector<double>(12, 0.0));
  EXPECT_EQ(kernels::matmul(Tensor::ones({0, 5}), Tensor::ones({5, 4})).shape(), (Shape{0, 4}));
  EXPECT_EQ(kernels::matmul(Tensor::ones({0, 2, 5}), Tensor::ones({5, 4})).shape(), (Shape{0, 2, 4}));
}

TEST(LinearGrad, WithAndWithoutBias) {
  auto with_bias = [](const Vars& x) { return linear(x[0], x[1], x[2]); };
  auto no_bias = [](const Vars& x) { return linear(x[0], x[1]); };
  LINEA_EXPECT_GRADCHECK(with_bias, (Tensors{random_tensor({2, 3, 5}, 31), random_tensor({4, 5}, 32),
                                             random_tensor({4}, 33)}));
  LINEA_EXPECT_GRADCHECK(with_bias,
                         (Tensors{random_tensor({5}, 34), random_tensor({4, 5}, 35), random_tensor({4}, 36)}));
  LINEA_EXPECT_GRADCHECK(no_bias, (Tensors{random_strided({3, 5}, 37), random_strided({4, 5}, 38)}));
}

TEST(LinearValues, IsXWeightTransposedPlusBias) {
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, DType::f64);
  Tensor w = Tensor::from_vector({1, 0, -1, 2, 1, 0}, {2, 3}, DType::f64);
  Tensor b = Tensor::from_vector({10, 20}, {2}, DType::f64);
  Variable y = linear(Variable(x), Variable(w), Variable(b));
  EXPECT_EQ(y.data().to_vector(), (std::vector<double>{1 - 3 + 10, 2 + 2 + 20, 4 - 6 + 10, 8 + 5 + 20}));
}

// Asserts that `fn` throws a ShapeError whose message contains every string in `parts`.
template <class Fn>
void expect_shape_error(Fn fn, const std::vector<std::string>& parts) {
  try {
    fn();
    ADD_FAILURE() << "no exception";
  } catch (const ShapeError& e) {
    std::string m = e.what();
    for (const std::string& p : parts) EXPECT_NE(m.find(p), std::string::npos) << "'" << p << "' missing in: " << m;
  }
}

TEST(MatmulErrors, MessagesNameTheOpShapesAndDtypes) {
  Variable a(Tensor::zeros({2, 3})), b(Tensor::zeros({4, 5}));
  expect_shape_error([&] { matmul(a, b); }, {"matmul", "[2, 3]", "[4, 5]", "K=3", "K=4"});
  expect_shape_error([&] { matmul(a, b, false, true); }, {"matmul", "[2, 3]", "[4, 5]", "transposed"});
  expect_shape_error([&] { matmul(a, Variable(Tensor::zeros({3, 5}, DType::bf16))); }, {"matmul", "f32", "bf16"});
  expect_shape_error([&] { matmul(Variable(Tensor::zeros({3})), b); }, {"matmul", "[3]", "at least 2 dims"});
  expect_shape_error([&] { matmul(Variable(Tensor::zeros({2, 2, 3})), Variable(Tensor::zeros({3, 3, 4}))); },
                     {"matmul", "[2, 2, 3]", "[3, 3, 4]", "broadcast"});
  Variable ints(Tensor::zeros({2, 2}, DType::i64));
  expect_shape_error([&] { matmul(ints, ints); }, {"matmul", "i64"});
  expect_shape_error([&] { linear(Variable(Tensor::zeros({2, 3})), Variable(Tensor::zeros({4, 5}))); },
                     {"linear", "[2, 3]", "[4, 5]"});
  Variable x(Tensor::zeros({2, 5})), w(Tensor::zeros({4, 5})), bias(Tensor::zeros({5}));
  expect_shape_error([&] { linear(x, w, bias); }, {"linear", "bias", "[5]", "[4]"});
}

}  // namespace
