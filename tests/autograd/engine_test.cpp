// The backward engine: accumulation, hooks, grad mode, freeing saved tensors,
// recomputation, and that gradcheck really catches a wrong backward.
#include <gtest/gtest.h>

#include "autograd/checkpoint.h"
#include "autograd/engine.h"
#include "autograd/functional.h"
#include "autograd/node.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

TEST(Engine, GradientsAccumulateOverPathsAndCalls) {
  Variable x(Tensor::from_vector({2.0}, {1}, DType::f64), true);
  Variable y = add(mul(x, x), x);  // dy/dx = 2x + 1 = 5
  y.backward(Tensor::ones({1}, DType::f64));
  EXPECT_DOUBLE_EQ(x.grad().item(), 5.0);
  Variable z = mul(x, x);  // a second backward adds 2x = 4
  z.backward(Tensor::ones({1}, DType::f64));
  EXPECT_DOUBLE_EQ(x.grad().item(), 9.0);
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(Engine, SharedGradientIsNotAliasedIntoTwoLeaves) {
  Variable a(Tensor::ones({3}), true), b(Tensor::ones({3}), true);
  add(a, b).backward(Tensor::ones({3}));
  EXPECT_FALSE(a.grad().shares_storage(b.grad()));
}

TEST(Engine, HookFiresOnceWithTheFinalGradient) {
  Variable w(Tensor::from_vector({1.0, 2.0}, {2}, DType::f64), true);
  int calls = 0;
  double seen = 0;
  w.register_hook([&](Variable& v) {
    ++calls;
    seen = v.grad().to_vector()[1];
  });
  // w is used three times; the hook must see the sum 3 * dy, not a partial.
  Variable y = sum(add(add(w, w), w));
  y.backward();
  EXPECT_EQ(calls, 1);
  EXPECT_DOUBLE_EQ(seen, 3.0);
}

TEST(Engine, NoGradGuardRecordsNothingAndDetachCutsTheGraph) {
  Variable x(Tensor::ones({2}), true);
  {
    NoGradGuard ng;
    Variable y = mul(x, x);
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(y.grad_fn(), nullptr);
  }
  Variable d = mul(x, x).detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_TRUE(grad_mode_enabled());
  Variable y = mul(x, x);
  EXPECT_TRUE(y.requires_grad());
  EXPECT_EQ(y.grad_fn()->name(), "mul");
}

TEST(Engine, SavedTensorsAreFreedUnlessRetained) {
  Variable x(Tensor::ones({4}), true);
  Variable y = sum(exp(x));
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();  // allowed: the graph was retained
  EXPECT_FLOAT_EQ(float(x.grad().to_vector()[0]), float(2.0 * std::exp(1.0)));
  try {
    y.backward();
    FAIL() << "expected an error on a third backward";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("retain_graph"), std::string::npos) << e.what();
  }
}

TEST(Engine, BackwardOnANonGradRootIsAClearError) {
  Variable x(Tensor::ones({2}));
  EXPECT_THROW(sum(x).backward(), ShapeError);
  Variable w(Tensor::ones({2}), true);
  try {
    mul(w, w).backward();  // not a scalar and no gradient given
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("scalar"), std::string::npos) << e.what();
  }
}

TEST(Engine, FrozenInputGetsNoGradient) {
  Variable w(Tensor::ones({2, 2}), true);
  Variable frozen(Tensor::ones({2, 2}));
  sum(mul(w, frozen)).backward();
  EXPECT_TRUE(w.grad().defined());
  EXPECT_FALSE(frozen.grad().defined());
}

TEST(Gradcheck, CatchesAWrongBackward) {
  // exp with the derivative of x^2: gradcheck must reject it.
  auto wrong = [](const std::vector<Variable>& x) {
    Tensor y = x[0].data().clone();
    {
      NoGradGuard ng;
      y = exp(x[0]).data();
    }
    return record_op("wrong_exp", y, {x[0]}, [xt = x[0].data()](const Tensor& g, const NeedsGrad&) {
      return std::vector<Tensor>{mul(Variable(g), mul(Variable(xt), Variable(Tensor::full({}, 2.0, DType::f64)))).data()};
    });
  };
  GradcheckResult r = gradcheck(wrong, {random_tensor({3}, 1)});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("analytic"), std::string::npos);
}

TEST(Checkpoint, RecomputedBlockGivesTheSameGradients) {
  Variable w(random_tensor({4}, 2), true);
  auto block = [&](const std::vector<Variable>& in) {
    return std::vector<Variable>{tanh(mul(in[0], w)), sigmoid(in[0])};
  };
  Variable x1(random_tensor({3, 4}, 3), true);
  auto plain = block({x1});
  sum(add(plain[0], plain[1])).backward();
  Tensor gx = x1.grad(), gw = w.grad();
  w.zero_grad();

  Variable x2(x1.data(), true);
  auto ck = checkpoint(block, {x2});
  EXPECT_TRUE(all_close(ck[0].data(), plain[0].data(), 0, 0));
  sum(add(ck[0], ck[1])).backward();
  EXPECT_TRUE(all_close(x2.grad(), gx, 1e-15, 0));
  EXPECT_TRUE(all_close(w.grad(), gw, 1e-15, 0));
}

TEST(Checkpoint, ReachesParametersEvenWhenInputsNeedNoGrad) {
  Variable w(random_tensor({4}, 4), true);
  Variable x(random_tensor({4}, 5));
  auto out = checkpoint([&](const std::vector<Variable>& in) { return std::vector<Variable>{mul(in[0], w)}; }, {x});
  sum(out[0]).backward();
  EXPECT_TRUE(all_close(w.grad(), x.data(), 0, 0));
}
