// The Optimizer base: parameter groups, frozen and grad-less parameters, zero_grad,
// state()/load_state() round trips (bitwise-identical continued steps) and load errors.
#include <gtest/gtest.h>

#include <memory>

#include "optim/optimizer.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

namespace {

NamedParams make_params(DType dtype) {
  return {{"embed.weight", Variable(random_tensor({6, 4}, 1).to(dtype), true)},
          {"layers.0.norm.weight", Variable(random_tensor({4}, 2).to(dtype), true)},
          {"layers.0.proj.weight", Variable(random_tensor({4, 4}, 3).to(dtype), true)}};
}

NamedParams clone_params(const NamedParams& params) {
  NamedParams out;
  for (const auto& [name, p] : params) out.emplace_back(name, Variable(p.data().clone(), true));
  return out;
}

void set_grads(const NamedParams& params, int step) {
  uint64_t seed = 1000 * step;
  for (auto [name, p] : params) p.set_grad(random_tensor(p.shape(), ++seed).to(p.dtype()));
}

OptimizerState clone_state(const OptimizerState& state) {
  OptimizerState out;
  for (const auto& [name, states] : state)
    for (const auto& [state_name, t] : states) out[name][state_name] = t.clone();
  return out;
}

std::unique_ptr<Optimizer> make_optimizer(const std::string& kind, const NamedParams& params) {
  auto groups = make_param_groups(params, 0.1, {"norm"});
  if (kind == "adamw") return std::make_unique<AdamW>(groups);
  return std::make_unique<SGD>(groups, SGDOptions{0.9, true});
}

// Runs 2 steps, snapshots, runs 2 more; a fresh optimizer on the snapshot's parameters
// and state must reproduce the last 2 steps bit for bit.
void check_round_trip(const std::string& kind, DType dtype) {
  NamedParams params = make_params(dtype);
  auto opt = make_optimizer(kind, params);
  for (int t = 1; t <= 2; ++t) {
    set_grads(params, t);
    opt->step(0.01);
  }
  NamedParams resumed = clone_params(params);
  OptimizerState saved = clone_state(opt->state());
  for (int t = 3; t <= 4; ++t) {
    set_grads(params, t);
    opt->step(0.01);
  }
  auto opt2 = make_optimizer(kind, resumed);
  opt2->load_state(saved, 2);
  EXPECT_EQ(opt2->step_count(), 2);
  for (int t = 3; t <= 4; ++t) {
    set_grads(resumed, t);
    opt2->step(0.01);
  }
  for (size_t i = 0; i < params.size(); ++i)
    EXPECT_EQ(resumed[i].second.data().to_vector(), params[i].second.data().to_vector()) << params[i].first;
  OptimizerState a = opt->state(), b = opt2->state();
  for (const auto& [name, states] : a)
    for (const auto& [state_name, t] : states)
      EXPECT_EQ(b[name][state_name].to_vector(), t.to_vector()) << name << "/" << state_name;
}

// Expects load_state to throw a CheckpointError whose message contains every fragment.
void expect_load_error(Optimizer& opt, const OptimizerState& state, const std::vector<std::string>& fragments) {
  try {
    opt.load_state(state, 1);
    ADD_FAILURE() << "load_state accepted a bad state";
  } catch (const CheckpointError& e) {
    for (const std::string& f : fragments) EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(ParamGroups, SplitBySubstring) {
  NamedParams params = make_params(DType::f32);
  auto groups = make_param_groups(params, 0.1, {"norm", "embed"});
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].weight_decay, 0.1);
  EXPECT_EQ(groups[1].weight_decay, 0.0);
  ASSERT_EQ(groups[0].params.size(), 1u);
  EXPECT_EQ(groups[0].params[0].first, "layers.0.proj.weight");
  ASSERT_EQ(groups[1].params.size(), 2u);
  EXPECT_EQ(groups[1].params[0].first, "embed.weight");
  EXPECT_EQ(groups[1].params[1].first, "layers.0.norm.weight");
}

TEST(Optimizer, FrozenAndGradlessParamsAreSkipped) {
  NamedParams params = make_params(DType::f32);
  params[0].second.set_requires_grad(false);
  AdamW opt(make_param_groups(params, 0.1, {}));
  OptimizerState st = opt.state();
  EXPECT_EQ(st.count("embed.weight"), 0u);
  EXPECT_EQ(st.size(), 2u);
  std::vector<double> frozen = params[0].second.data().to_vector(), gradless = params[1].second.data().to_vector();
  std::vector<double> trained = params[2].second.data().to_vector();
  params[0].second.set_grad(Tensor::ones({6, 4}));  // ignored: frozen
  params[2].second.set_grad(Tensor::ones({4, 4}));
  opt.step(0.1);
  EXPECT_EQ(params[0].second.data().to_vector(), frozen);
  EXPECT_EQ(params[1].second.data().to_vector(), gradless);
  EXPECT_NE(params[2].second.data().to_vector(), trained);
  EXPECT_EQ(opt.step_count(), 1);
  opt.zero_grad();
  EXPECT_FALSE(params[2].second.grad().defined());
}

TEST(Optimizer, RejectsDuplicateParameters) {
  Variable p(Tensor::zeros({2}), true);
  EXPECT_THROW(AdamW({ParamGroup{{{"a", p}, {"a", Variable(Tensor::zeros({2}), true)}}}}), Error);
  EXPECT_THROW(AdamW({ParamGroup{{{"a", p}}}, ParamGroup{{{"b", p}}}}), Error);
}

TEST(Optimizer, GradientMismatchIsAnError) {
  Variable p(Tensor::zeros({2}), true);
  AdamW opt({ParamGroup{{{"p", p}}}});
  p.set_grad(Tensor::zeros({3}));
  EXPECT_THROW(opt.step(0.1), ShapeError);
}

TEST(Optimizer, AdamWStateRoundTripIsBitwise) { check_round_trip("adamw", DType::f32); }
TEST(Optimizer, AdamWBf16StateRoundTripIsBitwise) { check_round_trip("adamw", DType::bf16); }
TEST(Optimizer, SgdStateRoundTripIsBitwise) { check_round_trip("sgd", DType::f32); }

TEST(Optimizer, LoadStateConvertsDtypeAndRestoresTheParamFromItsMaster) {
  NamedParams params = make_params(DType::bf16);
  AdamW opt(make_param_groups(params, 0.1, {}));
  OptimizerState st = clone_state(opt.state());
  st["embed.weight"]["master"] = Tensor::full({6, 4}, 0.3, DType::f64);
  opt.load_state(st, 7);
  EXPECT_EQ(opt.step_count(), 7);
  EXPECT_EQ(opt.state()["embed.weight"]["master"].dtype(), DType::f32);
  EXPECT_FLOAT_EQ(float(opt.state()["embed.weight"]["master"].at({1, 1})), 0.3f);
  EXPECT_EQ(params[0].second.data().at({1, 1}), double(float(bf16(0.3f))));
}

TEST(Optimizer, LoadStateErrorsNameTheParameter) {
  NamedParams params = make_params(DType::f32);
  AdamW opt(make_param_groups(params, 0.1, {}));
  const OptimizerState good = clone_state(opt.state());

  OptimizerState missing = good;
  missing.erase("layers.0.proj.weight");
  expect_load_error(opt, missing, {"layers.0.proj.weight", "missing"});

  OptimizerState extra = good;
  extra["lm_head.weight"]["exp_avg"] = Tensor::zeros({2});
  expect_load_error(opt, extra, {"lm_head.weight", "not trained"});

  OptimizerState lacks = good;
  lacks["embed.weight"].erase("exp_avg_sq");
  expect_load_error(opt, lacks, {"embed.weight", "exp_avg_sq"});

  OptimizerState unexpected = good;
  unexpected["embed.weight"]["momentum_buffer"] = Tensor::zeros({6, 4});
  expect_load_error(opt, unexpected, {"embed.weight", "momentum_buffer"});

  OptimizerState shape = good;
  shape["layers.0.norm.weight"]["exp_avg"] = Tensor::zeros({5});
  expect_load_error(opt, shape, {"layers.0.norm.weight/exp_avg", "[5]", "[4]"});

  // A failed load changes nothing.
  shape["embed.weight"]["exp_avg"] = Tensor::ones({6, 4});
  expect_load_error(opt, shape, {"layers.0.norm.weight"});
  EXPECT_EQ(opt.state()["embed.weight"]["exp_avg"].at({0, 0}), 0.0);
  EXPECT_EQ(opt.step_count(), 0);
}
