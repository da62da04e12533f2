// Sharding as an optimizer capability (ZeRO-1): AdamW and SGD built with owned slices that
// together cover every parameter step exactly (bitwise) like unsharded ones, bf16 masters
// included; the gathered state is the unsharded state; a state saved with one slicing
// resumes under another; bad slices and states are refused.
#include <gtest/gtest.h>

#include <memory>

#include "core/dist/single_rank_communicator.h"
#include "optim/optimizer.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

namespace {

// Two copies of the same parameters: one for the unsharded optimizer, one for the sharded.
struct Params {
  Variable w, b, n;
  explicit Params(DType dtype) {
    w = Variable(random_tensor({70, 30}, 1).to(dtype), true);  // above the kernel's parallel grain
    b = Variable(random_tensor({30}, 2).to(dtype), true);
    n = Variable(random_tensor({30}, 3).to(dtype), true);
  }
  NamedParams named() const { return {{"proj.weight", w}, {"proj.bias", b}, {"norm.weight", n}}; }
  std::vector<ParamGroup> groups() const {
    std::vector<ParamGroup> g = make_param_groups(named(), 0.1, {"bias", "norm"});
    g[1].lr_scale = 0.5;
    return g;
  }
};

// Uneven cuts, several per parameter, listed out of order.
std::vector<ParamSlice> uneven_slices() {
  return {{"proj.weight", 1000, 1100}, {"proj.bias", 0, 30}, {"proj.weight", 0, 1}, {"proj.weight", 1, 999},
          {"norm.weight", 17, 13},     {"norm.weight", 0, 17}};
}

std::unique_ptr<Optimizer> make(const std::string& kind, const Params& p, OwnedSlices owned = std::nullopt) {
  if (kind == "adamw") return std::make_unique<AdamW>(p.groups(), AdamWOptions{}, std::move(owned));
  return std::make_unique<SGD>(p.groups(), SGDOptions{0.9, true}, std::move(owned));
}

Tensor grad_for(const Variable& p, int step, uint64_t salt) {
  return random_tensor(p.shape(), 100 * salt + step, -2, 2).to(p.dtype());
}

void set_grads(Params& p, int step) {
  p.w.set_grad(grad_for(p.w, step, 1));
  p.b.set_grad(grad_for(p.b, step, 2));
  p.n.set_grad(grad_for(p.n, step, 3));
}

void expect_identical(const Params& a, const Params& b) {
  EXPECT_TRUE(all_close(a.w.data(), b.w.data(), 0, 0));
  EXPECT_TRUE(all_close(a.b.data(), b.b.data(), 0, 0));
  EXPECT_TRUE(all_close(a.n.data(), b.n.data(), 0, 0));
}

void check_bitwise(const std::string& kind, DType dtype) {
  Params full(dtype), sharded(dtype);
  auto whole = make(kind, full);
  auto zero = make(kind, sharded, uneven_slices());
  EXPECT_EQ(zero->sharding(), Sharding::elementwise);
  EXPECT_TRUE(zero->sharded());
  EXPECT_FALSE(whole->sharded());
  for (int t = 1; t <= 3; ++t) {
    set_grads(full, t);
    set_grads(sharded, t);
    whole->step(0.01);
    zero->step(0.01);
  }
  EXPECT_EQ(zero->step_count(), 3);
  expect_identical(sharded, full);
}

}  // namespace

TEST(ShardedOptimizer, CoveringSlicesStepExactlyLikeAdamWF32) { check_bitwise("adamw", DType::f32); }
TEST(ShardedOptimizer, CoveringSlicesStepExactlyLikeAdamWBf16Masters) { check_bitwise("adamw", DType::bf16); }
TEST(ShardedOptimizer, CoveringSlicesStepExactlyLikeSgdWithMomentum) { check_bitwise("sgd", DType::f32); }

TEST(ShardedOptimizer, OnlyOwnedElementsChange) {
  Params p(DType::f32);
  const std::vector<double> before = p.w.data().to_vector();
  AdamW zero(p.groups(), AdamWOptions{}, std::vector<ParamSlice>{{"proj.weight", 10, 5}});
  set_grads(p, 1);
  zero.step(0.01);
  const std::vector<double> after = p.w.data().to_vector();
  for (size_t i = 0; i < after.size(); ++i) {
    if (i >= 10 && i < 15) EXPECT_NE(after[i], before[i]) << i;
    else EXPECT_EQ(after[i], before[i]) << i;
  }
}

TEST(ShardedOptimizer, GatheredStateIsTheUnshardedStateAndResumesUnderAnotherSlicing) {
  SingleRankCommunicator comm;
  Params full(DType::bf16), sharded(DType::bf16);
  AdamW adamw(full.groups());
  AdamW zero(sharded.groups(), AdamWOptions{}, uneven_slices());
  for (int t = 1; t <= 2; ++t) {
    set_grads(full, t);
    set_grads(sharded, t);
    adamw.step(0.01);
    zero.step(0.01);
  }
  const OptimizerState gathered = zero.gather_state(comm);
  const OptimizerState expected = adamw.state();
  ASSERT_EQ(gathered.size(), expected.size());
  for (const auto& [name, states] : expected) {
    ASSERT_EQ(gathered.at(name).size(), states.size()) << name;  // exp_avg, exp_avg_sq, master
    for (const auto& [state, t] : states) EXPECT_TRUE(all_close(gathered.at(name).at(state), t, 0, 0)) << name;
  }
  // Unsharded, gather_state is state() itself.
  EXPECT_TRUE(all_close(adamw.gather_state(comm).at("proj.bias").at("exp_avg"), expected.at("proj.bias").at("exp_avg"), 0, 0));
  // The same state under whole-parameter slices (another world size) continues identically.
  AdamW resumed(sharded.groups(), AdamWOptions{},
                std::vector<ParamSlice>{{"proj.weight", 0, 2100}, {"proj.bias", 0, 30}, {"norm.weight", 0, 30}});
  resumed.load_state(gathered, zero.step_count());
  set_grads(full, 3);
  set_grads(sharded, 3);
  adamw.step(0.01);
  resumed.step(0.01);
  expect_identical(sharded, full);
}

TEST(ShardedOptimizer, FrozenParametersAreNotTrained) {
  Params p(DType::f32);
  p.n.set_requires_grad(false);
  expect_error<Error>([&] { AdamW(p.groups(), AdamWOptions{}, std::vector<ParamSlice>{{"norm.weight", 0, 30}}); },
                      "names no trained parameter");
  SingleRankCommunicator comm;
  AdamW ok(p.groups(), AdamWOptions{}, std::vector<ParamSlice>{{"proj.bias", 0, 30}});
  EXPECT_EQ(ok.gather_state(comm).count("norm.weight"), 0u);
}

TEST(ShardedOptimizer, RejectsBadSlicesAndStates) {
  Params p(DType::f32);
  auto slices = [&](std::vector<ParamSlice> s) { AdamW(p.groups(), AdamWOptions{}, std::move(s)); };
  expect_error<Error>([&] { slices({{"proj.missing", 0, 1}}); }, "names no trained parameter");
  expect_error<Error>([&] { slices({{"proj.bias", 20, 11}}); }, "is outside the parameter's 30");
  expect_error<Error>([&] { slices({{"proj.bias", 0, 10}, {"proj.bias", 9, 5}}); }, "overlap");
  AdamW zero(p.groups(), AdamWOptions{}, std::vector<ParamSlice>{{"proj.bias", 0, 10}, {"proj.bias", 10, 20}});
  expect_error<InternalError>([&] { zero.state(); }, "expected gather_state(comm)");
  OptimizerState missing;  // no "proj.weight"
  expect_error<CheckpointError>([&] { zero.load_state(missing, 1); }, "parameter 'proj.weight' is missing");
  SingleRankCommunicator comm;
  OptimizerState wrong = AdamW(p.groups(), AdamWOptions{}, uneven_slices()).gather_state(comm);
  wrong["proj.bias"]["exp_avg"] = Tensor::zeros({31});
  expect_error<CheckpointError>([&] { zero.load_state(wrong, 1); }, "has shape [31], expected [30]");
  EXPECT_EQ(zero.step_count(), 0);  // nothing changed
}

namespace {
// An optimizer whose update needs whole parameters, as Muon's does: it records the shapes
// its update sees.
class WholeParameters : public Optimizer {
 public:
  WholeParameters(std::vector<ParamGroup> groups, OwnedSlices owned)
      : Optimizer(std::move(groups), Sharding::none, std::move(owned)) {}
  const char* kind() const override { return "whole"; }
  std::vector<Shape> seen;

 private:
  void update(Slot& slot, const Tensor& grad, double, int64_t) override {
    EXPECT_EQ(grad.shape(), slot.value().shape());
    seen.push_back(grad.shape());
  }
};
}  // namespace

TEST(ShardedOptimizer, AnOptimizerThatNeedsWholeParametersRefusesSlices) {
  Params p(DType::f32);
  expect_error<ConfigError>([&] { WholeParameters(p.groups(), std::vector<ParamSlice>{{"proj.bias", 0, 30}}); },
                            "cannot be partitioned across ranks; expected dist.shard_optimizer: false");
  WholeParameters whole(p.groups(), std::nullopt);
  EXPECT_EQ(whole.sharding(), Sharding::none);
  set_grads(p, 1);
  whole.step(0.01);
  EXPECT_EQ(whole.seen, (std::vector<Shape>{{70, 30}, {30}, {30}}));
}
