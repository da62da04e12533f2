// The optimizer factory: each optim.kind maps onto its class with the recipe's options and
// weight-decay groups, and passes ZeRO-1 ownership through.
#include <gtest/gtest.h>

#include "support/testing.h"
#include "train/optimizer_factory.h"

using namespace linea;
using namespace linea::testing;

namespace {
NamedParams params() {
  return {{"proj.weight", Variable(Tensor::ones({2, 2}), true)}, {"norm.weight", Variable(Tensor::ones({2}), true)}};
}
}  // namespace

TEST(OptimizerFactory, MapsEachKind) {
  OptimConfig o;
  o.no_decay = {"norm"};
  for (auto [kind, name] : {std::pair{OptimKind::adamw, "adamw"}, std::pair{OptimKind::decoupled_adamw, "adamw"},
                            std::pair{OptimKind::sgd, "sgd"}}) {
    o.kind = kind;
    auto optimizer = make_optimizer(o, params());
    EXPECT_STREQ(optimizer->kind(), name);
    EXPECT_EQ(optimizer->sharding(), Sharding::elementwise);
    EXPECT_FALSE(optimizer->sharded());
  }
}

TEST(OptimizerFactory, DecoupledWeightDecayIsNotScaledByThePeakLr) {
  // One step on a zero gradient moves a weight only by decay: AdamW by lr * wd,
  // DecoupledAdamW by wd (lr_t / lr = 1 here).
  OptimConfig o;
  o.lr = 0.5;
  o.weight_decay = 0.1;
  for (auto [kind, expected] : {std::pair{OptimKind::adamw, 1 - 0.5 * 0.1}, std::pair{OptimKind::decoupled_adamw, 1 - 0.1}}) {
    o.kind = kind;
    NamedParams p = params();
    auto optimizer = make_optimizer(o, p);
    for (auto& [name, v] : p) v.set_grad(Tensor::zeros(v.shape()));
    optimizer->step(o.lr);
    EXPECT_NEAR(p[0].second.data().at({0, 0}), expected, 1e-6) << to_string(kind);
  }
}

TEST(OptimizerFactory, PassesOwnedSlicesThrough) {
  OptimConfig o;
  auto optimizer = make_optimizer(o, params(), std::vector<ParamSlice>{{"proj.weight", 0, 4}, {"norm.weight", 1, 1}});
  EXPECT_TRUE(optimizer->sharded());
}
