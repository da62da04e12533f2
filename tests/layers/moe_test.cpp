// The moe channel mixer (specs/kimi_linear.md §4.2) against its definition written here per
// token (sigmoid scores, top-k by score + correction bias, renormalized unbiased weights times
// the routed scaling, plus the shared SwiGLU), in f64 to 1e-12; one expert with top-1 and no
// shared expert is the dense SwiGLU; permuting tokens permutes the output; gradcheck through
// the router, the experts, the shared expert and the input; the correction-bias update follows
// b_e += rate sign(mean - load_e) with the loads of the training forwards since the last step;
// the report's loads and balance loss; config errors name their key.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/gradcheck.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/gather.h"
#include "autograd/ops/reduce.h"
#include "core/dist/single_rank_communicator.h"
#include "layers/decoder.h"
#include "layers/moe.h"
#include "support/buildable_problem.h"
#include "support/module_gradcheck.h"
#include "support/testing.h"
#include "support/tiny_models.h"

using namespace linea;
using namespace linea::testing;

namespace {

constexpr int64_t kHidden = 6, kExpertHidden = 5;

MoeConfig moe_config(int64_t experts, int64_t top_k, int64_t shared) {
  MoeConfig c;
  c.experts = experts;
  c.top_k = top_k;
  c.shared_experts = shared;
  c.routed_scaling = 2.5;
  return c;
}

// Every parameter uniform in [-0.5, 0.5) (f64), the correction bias as given.
void randomize(Moe& moe, uint64_t seed, const std::vector<double>& bias = {}) {
  for (auto& [n, p] : moe.named_parameters()) p.set_data(random_tensor(p.shape(), seed + n.size() * 31, -0.5, 0.5));
  if (!bias.empty())
    Tensor(moe.buffer("gate.e_score_correction_bias")).copy_(Tensor::from_vector(bias, {int64_t(bias.size())}, DType::f64));
}

// The definition, one token at a time.
Tensor reference(Moe& moe, const MoeConfig& c, const Tensor& x) {
  const int64_t N = x.size(0);
  const std::vector<double> W = moe.parameter("gate.weight").data().to_vector();
  const std::vector<double> b = moe.buffer("gate.e_score_correction_bias").to(Device::cpu(), DType::f64).to_vector();
  const auto modules = moe.named_modules();
  auto glu = [&](const std::string& name) -> const GLU& {
    for (const auto& [n, m] : modules)
      if (n == name) return dynamic_cast<const GLU&>(*m);
    throw std::runtime_error("no module " + name);
  };
  std::vector<double> out;
  for (int64_t t = 0; t < N; ++t) {
    const Tensor row = x.narrow(0, t, 1).contiguous();
    const std::vector<double> xv = row.to_vector();
    std::vector<double> s(static_cast<size_t>(c.experts));
    for (int64_t e = 0; e < c.experts; ++e) {
      double z = 0;
      for (int64_t i = 0; i < kHidden; ++i) z += W[size_t(e * kHidden + i)] * xv[size_t(i)];
      s[size_t(e)] = 1.0 / (1.0 + std::exp(-z));
    }
    std::vector<int64_t> idx(static_cast<size_t>(c.experts));
    for (int64_t e = 0; e < c.experts; ++e) idx[size_t(e)] = e;
    std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t d) { return s[size_t(a)] + b[size_t(a)] > s[size_t(d)] + b[size_t(d)]; });
    double norm = 0;
    for (int64_t j = 0; j < c.top_k; ++j) norm += s[size_t(idx[size_t(j)])];
    std::vector<double> y(static_cast<size_t>(kHidden), 0.0);
    for (int64_t j = 0; j < c.top_k; ++j) {
      const int64_t e = idx[size_t(j)];
      const double w = (c.renormalize ? s[size_t(e)] / (norm + 1e-20) : s[size_t(e)]) * c.routed_scaling;
      const std::vector<double> ye = glu("experts." + std::to_string(e)).forward(Variable(row)).data().to_vector();
      for (int64_t i = 0; i < kHidden; ++i) y[size_t(i)] += w * ye[size_t(i)];
    }
    if (c.shared_experts > 0) {
      const std::vector<double> ys = glu("shared_experts").forward(Variable(row)).data().to_vector();
      for (int64_t i = 0; i < kHidden; ++i) y[size_t(i)] += ys[size_t(i)];
    }
    out.insert(out.end(), y.begin(), y.end());
  }
  return Tensor::from_vector(out, {N, kHidden}, DType::f64);
}

}  // namespace

TEST(Moe, EqualsItsDefinitionPerToken) {
  for (bool renormalize : {true, false}) {
    MoeConfig c = moe_config(5, 2, 1);
    c.renormalize = renormalize;
    Moe moe(c, kHidden, kExpertHidden, Device::cpu(), DType::f64);
    // A bias large enough to overrule the scores: expert 4 is always chosen.
    randomize(moe, 1, {0.0, 0.1, -0.2, 0.05, 2.0});
    const Tensor x = random_tensor({13, kHidden}, 2);
    EXPECT_TRUE(all_close(moe.forward(Variable(x)).data(), reference(moe, c, x), 1e-12, 1e-12)) << renormalize;
  }
}

TEST(Moe, OneExpertTopOneIsTheDenseSwiglu) {
  MoeConfig c = moe_config(1, 1, 0);
  c.routed_scaling = 1.0;
  Moe moe(c, kHidden, kExpertHidden, Device::cpu(), DType::f64);
  randomize(moe, 3);
  GLU dense(kHidden, kExpertHidden, Activation::silu, false, 0.0, Device::cpu(), DType::f64);
  for (auto& [n, p] : dense.named_parameters()) p.set_data(moe.parameter("experts.0." + n).data().clone());
  const Tensor x = random_tensor({2, 7, kHidden}, 4);
  EXPECT_TRUE(all_close(moe.forward(Variable(x)).data(), dense.forward(Variable(x)).data(), 1e-13, 1e-13));
}

TEST(Moe, PermutingTokensPermutesTheOutput) {
  Moe moe(moe_config(6, 3, 1), kHidden, kExpertHidden, Device::cpu(), DType::f64);
  randomize(moe, 5);
  const Tensor x = random_tensor({11, kHidden}, 6);
  const std::vector<double> perm = {3, 0, 10, 7, 1, 9, 2, 8, 4, 6, 5};
  const Tensor p = Tensor::from_vector(perm, {11}, DType::i64);
  const Tensor y = moe.forward(Variable(x)).data();
  const Tensor yp = moe.forward(Variable(index_select(Variable(x), 0, p).data())).data();
  EXPECT_TRUE(all_close(yp, index_select(Variable(y), 0, p).data(), 1e-13, 1e-13));
}

TEST(Moe, GradcheckThroughRouterExpertsSharedAndInput) {
  MoeConfig c = moe_config(4, 2, 1);
  c.aux_loss_alpha = 0.3;
  Moe moe(c, kHidden, kExpertHidden, Device::cpu(), DType::f64);
  randomize(moe, 7);
  moe.train();
  const Tensor x = random_tensor({9, kHidden}, 8);
  // The routing is piecewise constant: central differences of 1e-6 never cross a choice here
  // (every token's k-th and (k+1)-th biased scores differ by more than that).
  GradcheckResult r = module_gradcheck(
      moe, {"gate.weight", "experts.0.gate_proj.weight", "experts.3.down_proj.weight", "shared_experts.up_proj.weight"},
      [&] {
        const Variable y = moe.forward(Variable(x));
        std::vector<std::pair<std::string, Variable>> aux;
        std::vector<std::pair<std::string, double>> metrics;
        moe.report("", aux, metrics);
        return sum(y * y) + aux.at(0).second;
      });
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(Moe, CorrectionBiasMovesTowardBalanceAfterEachStep) {
  MoeConfig c = moe_config(3, 1, 0);
  c.bias_update_rate = 0.01;
  Moe moe(c, kHidden, kExpertHidden, Device::cpu(), DType::f64);
  randomize(moe, 9, {0.0, 0.0, 0.0});
  moe.train();
  // Two micro-batches of one step; then the loads decide the signs.
  moe.forward(Variable(random_tensor({10, kHidden}, 10)));
  moe.forward(Variable(random_tensor({8, kHidden}, 11)));
  const std::vector<double> load = moe.pending_load();
  EXPECT_DOUBLE_EQ(load[0] + load[1] + load[2], 18.0);
  SingleRankCommunicator comm;
  moe.run_after_step(StepEnd{1, comm});
  const std::vector<double> b = moe.buffer("gate.e_score_correction_bias").to(Device::cpu(), DType::f64).to_vector();
  for (size_t e = 0; e < 3; ++e) {
    const double gap = 6.0 - load[e];
    EXPECT_NEAR(b[e], gap > 0 ? 0.01 : gap < 0 ? -0.01 : 0.0, 1e-7) << e;  // f32 buffer
  }
  for (double l : moe.pending_load()) EXPECT_EQ(l, 0.0);  // counted afresh for the next step
  // Evaluation forwards do not count.
  moe.eval();
  moe.forward(Variable(random_tensor({4, kHidden}, 12)));
  for (double l : moe.pending_load()) EXPECT_EQ(l, 0.0);
}

TEST(Moe, ReportsLoadSharesAndTheBalanceLoss) {
  MoeConfig c = moe_config(4, 2, 0);
  c.aux_loss_alpha = 0.1;
  Moe moe(c, kHidden, kExpertHidden, Device::cpu(), DType::f64);
  randomize(moe, 13);
  moe.train();
  moe.forward(Variable(random_tensor({12, kHidden}, 14)));
  std::vector<std::pair<std::string, Variable>> aux;
  std::vector<std::pair<std::string, double>> metrics;
  moe.report("layers.1.", aux, metrics);
  ASSERT_EQ(metrics.size(), 6u);
  EXPECT_EQ(metrics[0].first, "layers.1.moe_load_max_over_mean");
  EXPECT_EQ(metrics[1], (std::pair<std::string, double>{"layers.1.moe_dropped_tokens", 0.0}));
  double shares = 0, max_share = 0;
  for (size_t e = 2; e < 6; ++e) {
    EXPECT_EQ(metrics[e].first, "layers.1.moe_load_" + std::to_string(e - 2));
    shares += metrics[e].second;
    max_share = std::max(max_share, metrics[e].second);
  }
  EXPECT_NEAR(shares, 1.0, 1e-12);
  EXPECT_NEAR(metrics[0].second, max_share * 4, 1e-12);
  // alpha E Σ f_e P_e with f the load shares and P the mean of s / Σ s.
  const Tensor x = random_tensor({12, kHidden}, 14);
  const std::vector<double> W = moe.parameter("gate.weight").data().to_vector(), xv = x.to_vector();
  std::vector<double> P(4, 0.0);
  for (int64_t t = 0; t < 12; ++t) {
    std::vector<double> s(4);
    double total = 0;
    for (int64_t e = 0; e < 4; ++e) {
      double z = 0;
      for (int64_t i = 0; i < kHidden; ++i) z += W[size_t(e * kHidden + i)] * xv[size_t(t * kHidden + i)];
      total += s[size_t(e)] = 1.0 / (1.0 + std::exp(-z));
    }
    for (int64_t e = 0; e < 4; ++e) P[size_t(e)] += s[size_t(e)] / total / 12.0;
  }
  double want = 0;
  for (size_t e = 0; e < 4; ++e) want += metrics[e + 2].second * P[e];
  ASSERT_EQ(aux.size(), 1u);
  EXPECT_EQ(aux[0].first, "layers.1.moe_balance_loss");
  EXPECT_NEAR(aux[0].second.data().item(), 0.1 * 4 * want, 1e-12);
}

TEST(Moe, DecoderWithMoeLayersGradchecks) {
  ModelConfig m = tiny_decoder_config();
  m.ffn.kind = FfnKind::moe;
  m.ffn.hidden = 6;
  m.ffn.moe = moe_config(4, 2, 1);
  Decoder model(m);
  Generator gen(15);
  model.init_parameters(gen);
  model.to(Device::cpu(), DType::f64);
  const Tensor ids = random_ids({2, 7}, 16), targets = random_ids({2, 7}, 17);
  GradcheckResult r = module_gradcheck(model, {"layers.0.mlp.gate.weight", "layers.1.mlp.experts.2.up_proj.weight"},
                                       [&] { return model.loss(ids, targets); });
  EXPECT_TRUE(r.ok) << r.message;
}

// Every expert's down projection writes to the residual stream, so the decoder's init scales
// all of them (routed and shared) by 1/sqrt(2 layers), as the dense MLP's; their up/gate
// projections keep init_std. Sample standard deviations of 1,536 draws are within 10%.
TEST(Moe, EveryExpertsDownProjectionGetsTheResidualInit) {
  ModelConfig m = tiny_decoder_config();
  m.hidden = 32;
  m.heads = 4;
  m.kv_heads = 4;
  m.layers = 2;
  m.ffn.kind = FfnKind::moe;
  m.ffn.hidden = 48;
  m.ffn.moe = moe_config(4, 2, 1);
  m.init_std = 0.02;
  Decoder model(m);
  Generator gen(31);
  model.init_parameters(gen);
  auto std_of = [&](const std::string& name) {
    const std::vector<double> v = model.parameter(name).data().to_vector();
    double ss = 0;
    for (double x : v) ss += x * x;
    return std::sqrt(ss / double(v.size()));
  };
  const double residual = 0.02 / std::sqrt(4.0);
  for (const std::string e : {"experts.0", "experts.3", "shared_experts"}) {
    EXPECT_NEAR(std_of("layers.1.mlp." + e + ".down_proj.weight"), residual, 0.1 * residual) << e;
    EXPECT_NEAR(std_of("layers.1.mlp." + e + ".up_proj.weight"), 0.02, 0.002) << e;
  }
}

TEST(Moe, BadSettingsAreNamed) {
  auto problem = [](void (*apply)(MoeConfig&)) {
    ModelConfig m;
    m.ffn.kind = FfnKind::moe;
    apply(m.ffn.moe);
    return buildable_problem(m);
  };
  EXPECT_NE(problem([](MoeConfig& e) { e.top_k = 9; }).find("ffn.moe.top_k"), std::string::npos);
  EXPECT_NE(problem([](MoeConfig& e) { e.experts = 0; }).find("ffn.moe.experts"), std::string::npos);
  EXPECT_NE(problem([](MoeConfig& e) { e.routed_scaling = 0; }).find("ffn.moe.routed_scaling"), std::string::npos);
  EXPECT_NE(problem([](MoeConfig& e) { e.bias_update_rate = -1; }).find("ffn.moe.bias_update_rate"), std::string::npos);
  EXPECT_NE(problem([](MoeConfig& e) { e.shared_experts = -1; }).find("ffn.moe.shared_experts"), std::string::npos);
  EXPECT_NE(problem([](MoeConfig& e) { e.aux_loss_alpha = -0.1; }).find("ffn.moe.aux_loss_alpha"), std::string::npos);
  EXPECT_EQ(problem([](MoeConfig&) {}), "");
}
