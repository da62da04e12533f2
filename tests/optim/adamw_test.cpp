// AdamW against a hand-written torch.optim.AdamW reference (3 steps, f64 and f32), the
// no-decay group, lr_scale, bf16 params with an f32 master, and a quadratic minimized.
#include <gtest/gtest.h>

#include <cmath>

#include "optim/optimizer.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

namespace {

// torch.optim.AdamW on one parameter, in double.
struct ReferenceAdamW {
  std::vector<double> p, m, v;
  explicit ReferenceAdamW(std::vector<double> init) : p(std::move(init)), m(p.size(), 0.0), v(p.size(), 0.0) {}
  void step(const std::vector<double>& g, double lr, double wd, double b1, double b2, double eps, int t) {
    const double bc1 = 1 - std::pow(b1, t), bc2 = 1 - std::pow(b2, t);
    for (size_t i = 0; i < p.size(); ++i) {
      p[i] *= 1 - lr * wd;
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      p[i] -= lr / bc1 * m[i] / (std::sqrt(v[i]) / std::sqrt(bc2) + eps);
    }
  }
};

Tensor grad_for(const Shape& shape, int step, uint64_t salt, DType dtype) {
  return random_tensor(shape, 100 * salt + step, -2, 2).to(dtype);
}

void check_against_reference(DType dtype, double tol) {
  Variable w(random_tensor({200, 100}, 1).to(dtype), true);  // above the parallel grain
  Variable b(random_tensor({100}, 2).to(dtype), true);
  ReferenceAdamW rw(w.data().to_vector()), rb(b.data().to_vector());
  std::vector<ParamGroup> groups = make_param_groups({{"proj.weight", w}, {"proj.bias", b}}, 0.1, {"bias"});
  groups[1].lr_scale = 0.5;
  AdamW opt(groups, AdamWOptions{0.9, 0.95, 1e-8});
  const double lr = 0.01;
  for (int t = 1; t <= 3; ++t) {
    w.set_grad(grad_for(w.shape(), t, 1, dtype));
    b.set_grad(grad_for(b.shape(), t, 2, dtype));
    rw.step(w.grad().to_vector(), lr, 0.1, 0.9, 0.95, 1e-8, t);
    rb.step(b.grad().to_vector(), lr * 0.5, 0.0, 0.9, 0.95, 1e-8, t);
    opt.step(lr);
  }
  EXPECT_EQ(opt.step_count(), 3);
  EXPECT_TRUE(all_close(w.data(), Tensor::from_vector(rw.p, w.shape(), DType::f64), tol, tol));
  EXPECT_TRUE(all_close(b.data(), Tensor::from_vector(rb.p, b.shape(), DType::f64), tol, tol));
  OptimizerState st = opt.state();
  EXPECT_TRUE(all_close(st["proj.weight"]["exp_avg"], Tensor::from_vector(rw.m, w.shape(), DType::f64), tol, tol));
  EXPECT_TRUE(all_close(st["proj.weight"]["exp_avg_sq"], Tensor::from_vector(rw.v, w.shape(), DType::f64), tol, tol));
  EXPECT_EQ(st["proj.weight"].size(), 2u);
}

}  // namespace

TEST(AdamW, MatchesReferenceF64) { check_against_reference(DType::f64, 1e-12); }
TEST(AdamW, MatchesReferenceF32) { check_against_reference(DType::f32, 2e-6); }

TEST(AdamW, NoDecayGroupIsNotDecayed) {
  // Zero gradients: only weight decay moves a parameter.
  Variable w(Tensor::full({3}, 2.0, DType::f64), true), n(Tensor::full({3}, 2.0, DType::f64), true);
  AdamW opt(make_param_groups({{"w", w}, {"norm.weight", n}}, 0.5, {"norm"}));
  w.set_grad(Tensor::zeros({3}, DType::f64));
  n.set_grad(Tensor::zeros({3}, DType::f64));
  opt.step(0.1);
  EXPECT_DOUBLE_EQ(w.data().at({0}), 2.0 * (1 - 0.1 * 0.5));
  EXPECT_EQ(n.data().to_vector(), std::vector<double>(3, 2.0));
}

TEST(AdamW, Bf16ParamsKeepAnF32Master) {
  Tensor init = random_tensor({40000}, 3).to(DType::f32);
  Variable p(init.to(DType::bf16), true);
  AdamW opt({ParamGroup{{{"p", p}}, 1.0, 0.1}});
  ASSERT_TRUE(opt.state()["p"].count("master"));
  Tensor master0 = opt.state()["p"]["master"];
  EXPECT_EQ(master0.dtype(), DType::f32);
  EXPECT_EQ(master0.to_vector(), init.to(DType::bf16).to(DType::f32).to_vector());  // the param, widened
  ReferenceAdamW ref(master0.to_vector());
  for (int t = 1; t <= 3; ++t) {
    p.set_grad(grad_for({40000}, t, 3, DType::bf16));
    ref.step(p.grad().to_vector(), 1e-3, 0.1, 0.9, 0.95, 1e-8, t);
    opt.step(1e-3);
  }
  Tensor master = opt.state()["p"]["master"];
  EXPECT_EQ(opt.state()["p"]["exp_avg"].dtype(), DType::f32);
  EXPECT_TRUE(all_close(master, Tensor::from_vector(ref.p, {40000}, DType::f64), 2e-6, 2e-6));
  // The parameter is exactly the master rounded, and the master has moved by less than a bf16 ulp in places.
  EXPECT_EQ(p.data().dtype(), DType::bf16);
  EXPECT_EQ(p.data().to_vector(), master.to(DType::bf16).to_vector());
  EXPECT_NE(master.to_vector(), master.to(DType::bf16).to(DType::f32).to_vector());
}

TEST(AdamW, MinimizesAQuadratic) {
  // f(x) = sum((x - target)^2), gradient 2 (x - target).
  Tensor target = random_tensor({10}, 4, -3, 3);
  Variable x(Tensor::zeros({10}, DType::f64), true);
  AdamW opt({ParamGroup{{{"x", x}}}}, AdamWOptions{0.9, 0.999, 1e-8});
  for (int t = 0; t < 2000; ++t) {
    std::vector<double> xv = x.data().to_vector(), tv = target.to_vector(), g(10);
    for (int i = 0; i < 10; ++i) g[i] = 2 * (xv[i] - tv[i]);
    x.set_grad(Tensor::from_vector(g, {10}, DType::f64));
    opt.step(t < 1500 ? 0.05 : 0.005);
  }
  EXPECT_TRUE(all_close(x.data(), target, 1e-3, 0));
}
