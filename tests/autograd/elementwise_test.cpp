// Gradchecks of the elementwise ops on odd, broadcast and non-contiguous shapes.
#include <gtest/gtest.h>

#include "autograd/functional.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

namespace {
struct UnaryCase {
  UnaryOp op;
  double lo, hi, a, b;
};

class UnaryGrad : public ::testing::TestWithParam<UnaryCase> {};

TEST_P(UnaryGrad, Gradcheck) {
  UnaryCase c = GetParam();
  auto fn = [&](const std::vector<Variable>& x) { return unary(c.op, x[0], c.a, c.b); };
  LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_tensor({3, 5}, 1, c.lo, c.hi)}));
  LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_strided({2, 3, 7}, 2, c.lo, c.hi)}));
}

// Ranges avoid the kinks (relu at 0, clamp at its bounds) and domains (log, sqrt > 0)
// where a central difference is not the derivative.
INSTANTIATE_TEST_SUITE_P(
    Ops, UnaryGrad,
    ::testing::Values(UnaryCase{UnaryOp::neg, -2, 2, 0, 0}, UnaryCase{UnaryOp::exp, -2, 2, 0, 0},
                      UnaryCase{UnaryOp::log, 0.5, 3, 0, 0}, UnaryCase{UnaryOp::sqrt, 0.5, 3, 0, 0},
                      UnaryCase{UnaryOp::rsqrt, 0.5, 3, 0, 0}, UnaryCase{UnaryOp::tanh, -2, 2, 0, 0},
                      UnaryCase{UnaryOp::sigmoid, -4, 4, 0, 0}, UnaryCase{UnaryOp::relu, 0.1, 2, 0, 0},
                      UnaryCase{UnaryOp::gelu_tanh, -3, 3, 0, 0}, UnaryCase{UnaryOp::gelu_erf, -3, 3, 0, 0},
                      UnaryCase{UnaryOp::silu, -4, 4, 0, 0}, UnaryCase{UnaryOp::softplus, -20, 20, 0, 0},
                      UnaryCase{UnaryOp::logsigmoid, -20, 20, 0, 0}, UnaryCase{UnaryOp::cos, -4, 4, 0, 0},
                      UnaryCase{UnaryOp::sin, -4, 4, 0, 0}, UnaryCase{UnaryOp::elu, -2, 2, 0.7, 0},
                      UnaryCase{UnaryOp::pow, 0.5, 2, 2.5, 0}, UnaryCase{UnaryOp::clamp, -0.45, 0.45, -0.5, 0.5},
                      UnaryCase{UnaryOp::affine, -2, 2, -1.5, 0.25}),
    [](const ::testing::TestParamInfo<UnaryCase>& info) { return std::string(unary_op_name(info.param.op)); });

TEST(UnaryGradExtra, ReluAndClampPassGradientOnlyInside) {
  Variable x(Tensor::from_vector({-1.0, 0.5, 2.0}, {3}, DType::f64), true);
  sum(add(relu(x), clamp(x, -0.5, 1.0))).backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{0.0, 2.0, 1.0}));
}

class BinaryGrad : public ::testing::TestWithParam<BinaryOp> {};

TEST_P(BinaryGrad, GradcheckWithBroadcasting) {
  BinaryOp op = GetParam();
  auto fn = [&](const std::vector<Variable>& x) { return binary(op, x[0], x[1]); };
  // Denominators stay away from zero for div.
  LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_tensor({3, 5}, 3), random_tensor({3, 5}, 4, 0.5, 2)}));
  LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_tensor({2, 1, 5}, 5), random_tensor({3, 1}, 6, 0.5, 2)}));
  LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_strided({4, 3}, 7), random_tensor({3}, 8, 0.5, 2)}));
  LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_tensor({}, 9), random_strided({2, 3}, 10, 0.5, 2)}));
}

INSTANTIATE_TEST_SUITE_P(Ops, BinaryGrad, ::testing::Values(BinaryOp::add, BinaryOp::sub, BinaryOp::mul, BinaryOp::div),
                         [](const ::testing::TestParamInfo<BinaryOp>& info) { return std::string(binary_op_name(info.param)); });

TEST(BinaryErrors, ShapeDtypeAndDeviceMismatchesNameTheOp) {
  Variable a(Tensor::zeros({2, 3}));
  Variable b(Tensor::zeros({4}));
  try {
    add(a, b);
    FAIL();
  } catch (const ShapeError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("add"), std::string::npos) << m;
    EXPECT_NE(m.find("[2, 3]"), std::string::npos) << m;
    EXPECT_NE(m.find("[4]"), std::string::npos) << m;
  }
  Variable c(Tensor::zeros({2, 3}, DType::bf16));
  try {
    mul(a, c);
    FAIL();
  } catch (const ShapeError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("mul"), std::string::npos) << m;
    EXPECT_NE(m.find("bf16"), std::string::npos) << m;
    EXPECT_NE(m.find("f32"), std::string::npos) << m;
  }
  Variable i(Tensor::zeros({2, 3}, DType::i64));
  EXPECT_THROW(exp(i), ShapeError);
}

TEST(BinaryErrors, DeviceMismatchIsReported) {
  LINEA_REQUIRE_GPU();  // to build a CUDA tensor
  Variable a(Tensor::zeros({2}));
  Variable b(Tensor::zeros({2}, DType::f32, Device::cuda(0)));
  try {
    add(a, b);
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("different devices"), std::string::npos) << e.what();
  }
}

TEST(BinaryBf16, BroadcastGradientIsAccumulatedInF32) {
  // 4096 copies of 1/3 summed in bf16 would stall far below 1365.33; f32 accumulation does not.
  Variable a(Tensor::full({4096, 1}, 1.0, DType::bf16), true);
  Variable b(Tensor::full({1}, 1.0, DType::bf16), true);
  Tensor g = Tensor::full({4096, 1}, 1.0 / 3.0, DType::bf16);
  mul(a, b).backward(g);
  EXPECT_NEAR(b.grad().item(), 4096.0 * (1.0 / 3.0), 4096.0 / 3.0 * 1e-2);
}

}  // namespace
