// ShardedAdamW: slices that together cover every parameter step exactly (bitwise) like
// AdamW, bf16 masters included; the gathered state is AdamW's state; a state saved with
// one slicing resumes under another; bad slices, gradients and states are refused.
#include <gtest/gtest.h>

#include "core/dist/single_rank_communicator.h"
#include "optim/sharded_adamw.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

namespace {

// Two copies of the same parameters: one for AdamW, one for ShardedAdamW.
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

Tensor grad_for(const Variable& p, int step, uint64_t salt) {
  return random_tensor(p.shape(), 100 * salt + step, -2, 2).to(p.dtype());
}

std::vector<Tensor> slice_grads(const Params& p, const std::vector<ParamSlice>& slices) {
  std::vector<Tensor> out;
  for (const ParamSlice& s : slices) {
    for (const auto& [name, v] : p.named())
      if (name == s.name) out.push_back(v.grad().reshape({v.numel()}).narrow(0, s.begin, s.length).to(DType::f32));
  }
  return out;
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

void check_bitwise(DType dtype) {
  Params full(dtype), sharded(dtype);
  AdamW adamw(full.groups());
  ShardedAdamW zero(sharded.groups(), uneven_slices());
  for (int t = 1; t <= 3; ++t) {
    set_grads(full, t);
    set_grads(sharded, t);
    adamw.step(0.01);
    zero.step(0.01, slice_grads(sharded, zero.slices()));
  }
  EXPECT_EQ(zero.step_count(), 3);
  expect_identical(sharded, full);
}

}  // namespace

TEST(ShardedAdamW, CoveringSlicesStepExactlyLikeAdamWF32) { check_bitwise(DType::f32); }
TEST(ShardedAdamW, CoveringSlicesStepExactlyLikeAdamWBf16Masters) { check_bitwise(DType::bf16); }

TEST(ShardedAdamW, GatheredStateIsAdamWStateAndResumesUnderAnotherSlicing) {
  SingleRankCommunicator comm;
  Params full(DType::bf16), sharded(DType::bf16);
  AdamW adamw(full.groups());
  ShardedAdamW zero(sharded.groups(), uneven_slices());
  for (int t = 1; t <= 2; ++t) {
    set_grads(full, t);
    set_grads(sharded, t);
    adamw.step(0.01);
    zero.step(0.01, slice_grads(sharded, zero.slices()));
  }
  const OptimizerState gathered = zero.gather_state(comm);
  const OptimizerState expected = adamw.state();
  ASSERT_EQ(gathered.size(), expected.size());
  for (const auto& [name, states] : expected) {
    ASSERT_EQ(gathered.at(name).size(), states.size()) << name;  // exp_avg, exp_avg_sq, master
    for (const auto& [state, t] : states) EXPECT_TRUE(all_close(gathered.at(name).at(state), t, 0, 0)) << name;
  }
  // The same state under whole-parameter slices (another world size) continues identically.
  ShardedAdamW resumed(sharded.groups(), {{"proj.weight", 0, 2100}, {"proj.bias", 0, 30}, {"norm.weight", 0, 30}});
  resumed.load_state(gathered, zero.step_count());
  set_grads(full, 3);
  set_grads(sharded, 3);
  adamw.step(0.01);
  resumed.step(0.01, slice_grads(sharded, resumed.slices()));
  expect_identical(sharded, full);
}

TEST(ShardedAdamW, FrozenParametersAreNotTrained) {
  Params p(DType::f32);
  p.n.set_requires_grad(false);
  expect_error<Error>([&] { ShardedAdamW(p.groups(), {{"norm.weight", 0, 30}}); }, "names no trained parameter");
  ShardedAdamW ok(p.groups(), {{"proj.bias", 0, 30}});
  EXPECT_EQ(ok.slices().size(), 1u);
}

TEST(ShardedAdamW, RejectsBadSlicesGradientsAndStates) {
  Params p(DType::f32);
  expect_error<Error>([&] { ShardedAdamW(p.groups(), {{"proj.missing", 0, 1}}); }, "names no trained parameter");
  expect_error<Error>([&] { ShardedAdamW(p.groups(), {{"proj.bias", 20, 11}}); }, "is outside the parameter's 30");
  expect_error<Error>([&] { ShardedAdamW(p.groups(), {{"proj.bias", 0, 10}, {"proj.bias", 9, 5}}); }, "overlap");
  ShardedAdamW zero(p.groups(), {{"proj.bias", 0, 10}, {"proj.bias", 10, 20}});
  expect_error<Error>([&] { zero.step(0.01, {Tensor::zeros({10})}); }, "expected one per slice (2)");
  expect_error<ShapeError>([&] { zero.step(0.01, {Tensor::zeros({10}), Tensor::zeros({19})}); },
                           "should hold 20 elements");
  OptimizerState missing;  // no "proj.weight"
  expect_error<CheckpointError>([&] { zero.load_state(missing, 1); }, "parameter 'proj.weight' is missing");
  SingleRankCommunicator comm;
  OptimizerState wrong = ShardedAdamW(p.groups(), uneven_slices()).gather_state(comm);
  wrong["proj.bias"]["exp_avg"] = Tensor::zeros({31});
  expect_error<CheckpointError>([&] { zero.load_state(wrong, 1); }, "has shape [31], expected [30]");
  EXPECT_EQ(zero.step_count(), 0);  // nothing changed
}
