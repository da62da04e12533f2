// SGD (plain, momentum, nesterov, coupled weight decay) against the torch.optim.SGD
// formulas over 3 steps, bf16 params through the f32 master, and a quadratic minimized.
#include <gtest/gtest.h>

#include "optim/optimizer.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

namespace {

// torch.optim.SGD (dampening 0) on one parameter, in double.
std::vector<double> reference_sgd(std::vector<double> p, const std::vector<std::vector<double>>& grads, double lr,
                                  double momentum, bool nesterov, double wd) {
  std::vector<double> buf(p.size(), 0.0);
  for (size_t t = 0; t < grads.size(); ++t) {
    for (size_t i = 0; i < p.size(); ++i) {
      double d = grads[t][i] + wd * p[i];
      if (momentum > 0) {
        buf[i] = t == 0 ? d : momentum * buf[i] + d;
        d = nesterov ? d + momentum * buf[i] : buf[i];
      }
      p[i] -= lr * d;
    }
  }
  return p;
}

void check_sgd(double momentum, bool nesterov, double wd, DType dtype, double tol) {
  Variable p(random_tensor({3, 4}, 10).to(dtype), true);
  std::vector<double> init = p.data().to_vector();
  SGD opt({ParamGroup{{{"p", p}}, 1.0, wd}}, SGDOptions{momentum, nesterov});
  std::vector<std::vector<double>> grads;
  for (int t = 0; t < 3; ++t) {
    p.set_grad(random_tensor({3, 4}, 20 + t).to(dtype));
    grads.push_back(p.grad().to_vector());
    opt.step(0.1);
  }
  Tensor expected = Tensor::from_vector(reference_sgd(init, grads, 0.1, momentum, nesterov, wd), {3, 4}, DType::f64);
  EXPECT_TRUE(all_close(p.data(), expected, tol, tol)) << "momentum " << momentum << " nesterov " << nesterov;
  EXPECT_EQ(opt.state()["p"].count("momentum_buffer"), momentum > 0 ? 1u : 0u);
}

}  // namespace

TEST(SGD, PlainStepsMatchFormula) { check_sgd(0.0, false, 0.0, DType::f64, 1e-14); }
TEST(SGD, MomentumMatchesFormula) { check_sgd(0.9, false, 0.0, DType::f64, 1e-14); }
TEST(SGD, NesterovMatchesFormula) { check_sgd(0.9, true, 0.0, DType::f64, 1e-14); }
TEST(SGD, WeightDecayMatchesFormula) { check_sgd(0.9, true, 0.01, DType::f64, 1e-14); }
TEST(SGD, F32MatchesFormula) { check_sgd(0.9, false, 0.01, DType::f32, 1e-6); }

TEST(SGD, Bf16ParamsStepTheMaster) {
  Variable p(Tensor::full({4}, 1.0, DType::bf16), true);
  SGD opt({ParamGroup{{{"p", p}}}});
  p.set_grad(Tensor::full({4}, 1.0, DType::bf16));
  opt.step(1e-3);  // 1 - 1e-3 is below bf16's resolution near 1
  EXPECT_FLOAT_EQ(float(opt.state()["p"]["master"].at({0})), 1.0f - 1e-3f);
  EXPECT_EQ(p.data().at({0}), 1.0);
  for (int t = 0; t < 9; ++t) opt.step(1e-3);  // grads stay set: ten steps of 1e-3 in all
  EXPECT_NEAR(opt.state()["p"]["master"].at({0}), 0.99, 1e-6);
  EXPECT_EQ(p.data().at({0}), double(float(bf16(0.99f))));
}

TEST(SGD, MinimizesAQuadratic) {
  Tensor target = random_tensor({6}, 5, -3, 3);
  Variable x(Tensor::zeros({6}, DType::f64), true);
  SGD opt({ParamGroup{{{"x", x}}}}, SGDOptions{0.9, true});
  for (int t = 0; t < 300; ++t) {
    std::vector<double> xv = x.data().to_vector(), tv = target.to_vector(), g(6);
    for (int i = 0; i < 6; ++i) g[i] = 2 * (xv[i] - tv[i]);
    x.set_grad(Tensor::from_vector(g, {6}, DType::f64));
    opt.step(0.05);
  }
  EXPECT_TRUE(all_close(x.data(), target, 1e-8, 0));
}

TEST(SGD, RejectsNesterovWithoutMomentum) {
  Variable p(Tensor::zeros({2}), true);
  EXPECT_THROW(SGD({ParamGroup{{{"p", p}}}}, SGDOptions{0.0, true}), Error);
}
