// Global gradient-norm clipping: the reported norm, scaled grads, no clip under the max,
// non-finite norms left untouched, undefined grads skipped.
#include <gtest/gtest.h>

#include <cmath>

#include "optim/clip.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

namespace {
NamedParams params_with_grads(DType dtype) {
  Variable a(Tensor::zeros({2}, dtype), true), b(Tensor::zeros({2, 2}, dtype), true), c(Tensor::zeros({3}, dtype), true);
  a.set_grad(Tensor::from_vector({3, 0}, {2}, dtype));
  b.set_grad(Tensor::from_vector({0, 4, 0, 12}, {2, 2}, dtype));  // global norm sqrt(9 + 16 + 144) = 13
  return {{"a", a}, {"b", b}, {"c", c}};                          // c has no grad
}
}  // namespace

TEST(ClipGradNorm, ScalesToMaxNorm) {
  for (DType dt : {DType::f64, DType::f32, DType::bf16}) {
    NamedParams p = params_with_grads(dt);
    EXPECT_DOUBLE_EQ(clip_grad_norm(p, 6.5), 13.0) << dtype_name(dt);
    const double coef = 6.5 / (13.0 + 1e-6), tol = dt == DType::bf16 ? 1.0 / 128 : 1e-6;
    EXPECT_TRUE(all_close(p[0].second.grad(), Tensor::from_vector({3 * coef, 0}, {2}, DType::f64), 0, tol));
    EXPECT_TRUE(all_close(p[1].second.grad(), Tensor::from_vector({0, 4 * coef, 0, 12 * coef}, {2, 2}, DType::f64), 0, tol));
    EXPECT_EQ(p[1].second.grad().dtype(), dt);
    EXPECT_FALSE(p[2].second.grad().defined());
    EXPECT_NEAR(clip_grad_norm(p, 100.0), 6.5, 1e-5 + tol * 6.5);  // the clipped norm, now under the max
  }
}

TEST(ClipGradNorm, NoClipUnderTheMax) {
  NamedParams p = params_with_grads(DType::f32);
  EXPECT_DOUBLE_EQ(clip_grad_norm(p, 13.5), 13.0);
  EXPECT_EQ(p[1].second.grad().to_vector(), (std::vector<double>{0, 4, 0, 12}));
}

TEST(ClipGradNorm, NonFiniteNormLeavesGradsUntouched) {
  for (double bad : {double(INFINITY), std::nan("")}) {
    NamedParams p = params_with_grads(DType::f32);
    p[0].second.set_grad(Tensor::from_vector({3, bad}, {2}));
    const double norm = clip_grad_norm(p, 1.0);
    EXPECT_FALSE(std::isfinite(norm));
    EXPECT_EQ(std::isnan(norm), std::isnan(bad));
    EXPECT_EQ(p[1].second.grad().to_vector(), (std::vector<double>{0, 4, 0, 12}));
  }
}

TEST(ClipGradNorm, RejectsNonPositiveMax) {
  NamedParams p = params_with_grads(DType::f32);
  EXPECT_THROW(clip_grad_norm(p, 0.0), Error);
}
