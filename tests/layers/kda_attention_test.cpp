// The kda token mixer (specs/kimi_linear.md §1): decoders of KDA layers gradcheck through
// every parameter kind (projections, conv taps, A_log, dt_bias, the low-rank and full gates,
// o_norm) for KDA with grouped value heads, Gated DeltaNet, the no-delta baseline and fla's
// lower-bound gate (which is lb·sigmoid, tested against an equivalent default gate); a
// per-channel gate whose channels agree is the per-head (GDN) gate; packed and padded
// batches give each sequence what it gets alone; the init follows fla's layer; the
// parameters carry the Hugging Face names. Decoding against the full forward is in
// decoding_test.cpp; the PyTorch reference in tests/torch/.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/ops/elementwise.h"
#include "autograd/ops/matmul.h"
#include "layers/decoder.h"
#include "layers/kda_attention.h"
#include "support/buildable_problem.h"
#include "support/module_gradcheck.h"
#include "support/testing.h"
#include "support/tiny_models.h"

using namespace linea;
using namespace linea::testing;

namespace {

// hidden 16, 4 heads: K = 4 by default.
ModelConfig kda_model() {
  ModelConfig m = tiny_decoder_config();
  m.init_std = 0.3;
  m.attention.kind = AttentionKind::kda;
  m.attention.positions = PositionKind::none;
  m.attention.kda.chunk = 16;
  m.max_seq_len = 32;
  return m;
}

}  // namespace

TEST(KdaAttention, ParametersAreNamedAsTheKimiCheckpoint) {
  ModelConfig m = kda_model();
  m.attention.kda.value_heads = 8;
  m.attention.kda.value_dim = 3;
  m.attention.kda.gate_rank = 5;
  Decoder model(m);
  std::map<std::string, Shape> shapes;
  for (const auto& [n, p] : model.named_parameters()) shapes[n] = p.shape();
  const std::string a = "layers.0.self_attn.";
  EXPECT_EQ(shapes.at(a + "q_proj.weight"), (Shape{16, 16}));
  EXPECT_EQ(shapes.at(a + "v_proj.weight"), (Shape{24, 16}));
  EXPECT_EQ(shapes.at(a + "q_conv1d.weight"), (Shape{16, 4}));
  EXPECT_EQ(shapes.at(a + "v_conv1d.weight"), (Shape{24, 4}));
  EXPECT_EQ(shapes.at(a + "A_log"), (Shape{8}));
  EXPECT_EQ(shapes.at(a + "f_a_proj.weight"), (Shape{5, 16}));
  EXPECT_EQ(shapes.at(a + "f_b_proj.weight"), (Shape{32, 5}));
  EXPECT_EQ(shapes.at(a + "dt_bias"), (Shape{32}));
  EXPECT_EQ(shapes.at(a + "b_proj.weight"), (Shape{8, 16}));
  EXPECT_EQ(shapes.at(a + "g_a_proj.weight"), (Shape{5, 16}));
  EXPECT_EQ(shapes.at(a + "g_b_proj.weight"), (Shape{24, 5}));
  EXPECT_EQ(shapes.at(a + "o_norm.weight"), (Shape{3}));
  EXPECT_EQ(shapes.at(a + "o_proj.weight"), (Shape{16, 24}));
}

// fla's init: A_log = log U(1, 16); softplus(dt_bias) = dt in [1e-3, 0.1]; conv taps within
// ±1/sqrt(4); o_norm 1.
TEST(KdaAttention, InitFollowsFlasLayer) {
  Decoder model(kda_model());
  Generator gen(5);
  model.init_parameters(gen);
  for (double a : model.parameter("layers.0.self_attn.A_log").data().to_vector()) {
    EXPECT_GE(a, 0.0);
    EXPECT_LE(a, std::log(16.0));
  }
  for (double b : model.parameter("layers.1.self_attn.dt_bias").data().to_vector()) {
    const double dt = std::log1p(std::exp(b));
    EXPECT_GE(dt, 1e-3 * (1 - 1e-5));
    EXPECT_LE(dt, 0.1 * (1 + 1e-5));
  }
  const std::vector<double> taps = model.parameter("layers.0.self_attn.k_conv1d.weight").data().to_vector();
  double spread = 0;
  for (double w : taps) {
    EXPECT_LE(std::abs(w), 0.5);
    spread = std::max(spread, std::abs(w));
  }
  EXPECT_GT(spread, 0.2);  // drawn, not left at zero
  for (double w : model.parameter("layers.0.self_attn.o_norm.weight").data().to_vector()) EXPECT_EQ(w, 1.0);
}

TEST(KdaAttention, DecoderGradchecksThroughEveryParameterKind) {
  struct Case {
    const char* name;
    void (*apply)(KdaConfig&);
    std::vector<std::string> params;  // under layers.0.self_attn.
  };
  const std::vector<Case> cases = {
      {"kda_grouped_values",
       [](KdaConfig& k) {
         k.value_heads = 8;
         k.value_dim = 3;
         k.gate_rank = 2;
       },
       {"q_proj.weight", "k_conv1d.weight", "v_conv1d.weight", "A_log", "dt_bias", "f_a_proj.weight", "f_b_proj.weight",
        "b_proj.weight", "g_a_proj.weight", "g_b_proj.weight", "o_norm.weight", "o_proj.weight"}},
      {"gated_deltanet",
       [](KdaConfig& k) {
         k.decay = KdaDecay::per_head;
         k.output_gate = {OutputGateRank::full, OutputGateActivation::swish};
       },
       {"a_proj.weight", "dt_bias", "A_log", "g_proj.weight", "k_proj.weight", "q_conv1d.weight"}},
      {"no_delta_no_conv",
       [](KdaConfig& k) {
         k.delta_rule = false;
         k.conv_size = 0;
         k.output_gate.rank = OutputGateRank::none;
       },
       {"q_proj.weight", "v_proj.weight", "f_b_proj.weight", "b_proj.weight", "o_norm.weight"}},
      {"lower_bound_gate", [](KdaConfig& k) { k.gate_lower_bound = -5.0; },
       {"A_log", "dt_bias", "f_a_proj.weight", "f_b_proj.weight", "q_proj.weight"}},
  };
  for (const Case& c : cases) {
    ModelConfig m = kda_model();
    c.apply(m.attention.kda);
    Decoder model(m);
    Generator gen(7);
    model.init_parameters(gen);
    model.to(Device::cpu(), DType::f64);
    // o_norm away from 1 so its gradient is not hidden by symmetry; decays strong enough to matter.
    for (auto& [n, p] : model.named_parameters())
      if (n.find("o_norm") != std::string::npos) p.set_data(random_tensor(p.shape(), 8 + n.size(), 0.5, 1.5));
    // 20 tokens: the chunk of 16 is crossed; 2 sequences.
    const Tensor ids = random_ids({2, 20}, 9), targets = random_ids({2, 20}, 10);
    std::vector<std::string> names;
    for (const std::string& p : c.params) names.push_back("layers.0.self_attn." + p);
    names.push_back("layers.1.self_attn.dt_bias");
    GradcheckResult r = module_gradcheck(model, names, [&] { return model.loss(ids, targets); });
    EXPECT_TRUE(r.ok) << c.name << ": " << r.message;
  }
}

// KDA with channel-constant decays is GDN (§1.3): f_b's K rows of each value head equal and
// dt_bias equal across them, against a per-head model with a_proj = that row times f_a.
TEST(KdaAttention, ChannelConstantGateEqualsThePerHeadGate) {
  ModelConfig channel = kda_model(), head = kda_model();
  head.attention.kda.decay = KdaDecay::per_head;
  Decoder a(channel), b(head);
  Generator g1(11);
  a.init_parameters(g1);
  a.to(Device::cpu(), DType::f64);
  b.to(Device::cpu(), DType::f64);
  const int64_t HV = 4, K = 4, r = 4;
  // Every other parameter is shared by name.
  auto ends_with = [](const std::string& n, const std::string& tail) {
    return n.size() >= tail.size() && n.compare(n.size() - tail.size(), tail.size(), tail) == 0;
  };
  for (auto& [n, v] : b.named_parameters())
    if (!ends_with(n, ".self_attn.a_proj.weight") && !ends_with(n, ".dt_bias")) v.set_data(a.parameter(n).data().clone());
  for (int64_t layer = 0; layer < 2; ++layer) {
    const std::string p = "layers." + std::to_string(layer) + ".self_attn.";
    const Tensor fa = a.parameter(p + "f_a_proj.weight").data();                 // [r, d]
    const Tensor rows = random_tensor({HV, 1, r}, 12 + layer, -1.0, 1.0);        // one row per value head
    const Tensor fb = rows.expand({HV, K, r}).contiguous().reshape({HV * K, r});  // K equal rows each
    a.parameter(p + "f_b_proj.weight").set_data(fb);
    const Tensor dt = random_tensor({HV, 1}, 14 + layer, -3.0, 1.0);
    a.parameter(p + "dt_bias").set_data(dt.expand({HV, K}).contiguous().reshape({HV * K}));
    b.parameter(p + "dt_bias").set_data(dt.reshape({HV}));
    b.parameter(p + "a_proj.weight").set_data(matmul(Variable(rows.reshape({HV, r})), Variable(fa)).data());
  }
  const Tensor ids = random_ids({2, 21}, 15);
  EXPECT_TRUE(all_close(a.forward(ids).data(), b.forward(ids).data(), 1e-12, 1e-12));
}

// fla's lower-bound gate (§1.3) g = lb·sigmoid(e^A_log (a + dt_bias)): A_log starts at 0; with
// f_b zeroed the gate is the constant lb·sigmoid(e^A_log dt_bias) per channel, which the default
// gate −e^A_log' softplus(dt_bias') gives with A_log' = 0 and dt_bias' = softplus⁻¹(−g): the two
// models agree (1e-12, f64).
TEST(KdaAttention, LowerBoundGateIsLbTimesSigmoid) {
  ModelConfig bounded = kda_model(), plain = kda_model();
  bounded.attention.kda.gate_lower_bound = -5.0;
  Decoder a(bounded), b(plain);
  Generator g1(21);
  a.init_parameters(g1);
  for (double v : a.parameter("layers.0.self_attn.A_log").data().to_vector()) EXPECT_EQ(v, 0.0);
  a.to(Device::cpu(), DType::f64);
  b.to(Device::cpu(), DType::f64);
  for (auto& [n, v] : b.named_parameters()) v.set_data(a.parameter(n).data().clone());
  for (int64_t layer = 0; layer < 2; ++layer) {
    const std::string p = "layers." + std::to_string(layer) + ".self_attn.";
    const Tensor zero = Tensor::zeros(a.parameter(p + "f_b_proj.weight").shape(), DType::f64);
    a.parameter(p + "f_b_proj.weight").set_data(zero);
    b.parameter(p + "f_b_proj.weight").set_data(zero.clone());
    const Tensor A_log = random_tensor({4}, 22 + layer, -1.0, 1.0).to(DType::f64);
    const Tensor dt = random_tensor({16}, 24 + layer, -2.0, 2.0).to(DType::f64);
    a.parameter(p + "A_log").set_data(A_log);
    a.parameter(p + "dt_bias").set_data(dt);
    std::vector<double> equivalent;
    for (int64_t i = 0; i < 16; ++i) {
      const double rate = std::exp(A_log.at({i / 4})), g = -5.0 / (1.0 + std::exp(-rate * dt.at({i})));
      equivalent.push_back(std::log(std::expm1(-g)));  // softplus(x) = -g
    }
    b.parameter(p + "A_log").set_data(Tensor::zeros({4}, DType::f64));
    b.parameter(p + "dt_bias").set_data(Tensor::from_vector(equivalent, {16}, DType::f64));
  }
  const Tensor ids = random_ids({2, 21}, 26);
  EXPECT_TRUE(all_close(a.forward(ids).data(), b.forward(ids).data(), 1e-12, 1e-12));
}

// A padded batch (a prefill of prompts of 7 and 13 tokens; packed batches are tested on the
// kernels) gives each sequence what it gets alone: the conv and the state start at each
// sequence's first token and ignore the padding after it.
TEST(KdaAttention, PaddedSequencesAreIsolated) {
  ModelConfig m = kda_model();
  m.attention.kda.value_heads = 8;
  Decoder model(m);
  Generator gen(17);
  model.init_parameters(gen);
  model.to(Device::cpu(), DType::f64);
  const Tensor ids = random_ids({2, 13}, 18);
  NoGradGuard no_grad;
  const Tensor alone1 = model.forward(ids.narrow(0, 0, 1).narrow(1, 0, 7).contiguous()).data();
  const Tensor alone2 = model.forward(ids.narrow(0, 1, 1).contiguous()).data();
  DecodingState state = model.new_decoding_state(2);
  const Tensor padded = model.decode(ids, state, {7, 13}).data();
  EXPECT_TRUE(all_close(padded.narrow(0, 0, 1).narrow(1, 0, 7), alone1, 1e-12, 1e-12));
  EXPECT_TRUE(all_close(padded.narrow(0, 1, 1), alone2, 1e-12, 1e-12));
}

TEST(KdaAttention, BadSettingsAreNamed) {
  auto problem = [](void (*apply)(ModelConfig&)) {
    ModelConfig m = kda_model();
    apply(m);
    return buildable_problem(m);
  };
  EXPECT_NE(problem([](ModelConfig& m) { m.attention.positions = PositionKind::rope; }).find("attention.positions"),
            std::string::npos);
  EXPECT_NE(problem([](ModelConfig& m) { m.attention.kda.value_heads = 6; }).find("attention.kda.value_heads"),
            std::string::npos);
  EXPECT_NE(problem([](ModelConfig& m) { m.attention.kda.chunk = 48; }).find("attention.kda.chunk"), std::string::npos);
  EXPECT_NE(problem([](ModelConfig& m) { m.attention.kda.head_dim = -1; }).find("attention.kda.head_dim"), std::string::npos);
  EXPECT_NE(problem([](ModelConfig& m) { m.attention.kda.gate_rank = -2; }).find("attention.kda.gate_rank"),
            std::string::npos);
  EXPECT_NE(problem([](ModelConfig& m) { m.attention.kda.conv_size = 1; }).find("attention.kda.conv_size"),
            std::string::npos);
  EXPECT_NE(problem([](ModelConfig& m) { m.attention.kda.gate_lower_bound = -6; }).find("attention.kda.gate_lower_bound"),
            std::string::npos);
  EXPECT_NE(problem([](ModelConfig& m) { m.attention.kda.gate_lower_bound = 0.5; }).find("attention.kda.gate_lower_bound"),
            std::string::npos);
  EXPECT_NE(problem([](ModelConfig& m) { m.kind = ModelKind::encoder; }).find("attention.kind"), std::string::npos);
  EXPECT_EQ(problem([](ModelConfig&) {}), "");
}
