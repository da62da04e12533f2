// The mla token mixer (specs/kimi_linear.md §3): Kimi's parameter names and shapes, equality
// with the attention it defines written out per head (the shared key slot broadcast to every
// head, scale (nope + rope)^-1/2, values of their own width), decoder gradchecks through every
// projection and the latent norm, and named config errors. Decoding from the latent cache
// (absorbed kv_b_proj) against the full forward is in decoding_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/dist/single_rank_communicator.h"
#include "layers/decoder.h"
#include "layers/mla_attention.h"
#include "support/buildable_problem.h"
#include "support/module_gradcheck.h"
#include "support/testing.h"
#include "support/tiny_models.h"

using namespace linea;
using namespace linea::testing;

namespace {

ModelConfig mla_model() {
  ModelConfig m = tiny_decoder_config();  // hidden 16, 4 heads
  m.init_std = 0.3;
  m.attention.kind = AttentionKind::mla;
  m.attention.positions = PositionKind::none;
  m.attention.mla = {6, 4, 2, 3};  // rank 6, nope 4, rope 2, v 3
  return m;
}

}  // namespace

TEST(MlaAttention, ParametersAreNamedAsKimiCheckpoints) {
  Decoder model(mla_model());
  std::map<std::string, Shape> shapes;
  for (const auto& [n, p] : model.named_parameters()) shapes[n] = p.shape();
  const std::string a = "layers.0.self_attn.";
  EXPECT_EQ(shapes.at(a + "q_proj.weight"), (Shape{24, 16}));
  EXPECT_EQ(shapes.at(a + "kv_a_proj_with_mqa.weight"), (Shape{8, 16}));
  EXPECT_EQ(shapes.at(a + "kv_a_layernorm.weight"), (Shape{6}));
  EXPECT_EQ(shapes.at(a + "kv_b_proj.weight"), (Shape{28, 6}));
  EXPECT_EQ(shapes.at(a + "o_proj.weight"), (Shape{16, 12}));
}

// The mixer's output against its definition, head by head in f64 loops.
TEST(MlaAttention, EqualsTheDefinitionPerHead) {
  const ModelConfig m = mla_model();
  MlaAttention mla(m.attention, m, Device::cpu(), DType::f64);
  for (auto& [n, p] : mla.named_parameters()) p.set_data(random_tensor(p.shape(), 3 + n.size(), -0.5, 0.5));
  const int64_t T = 9, H = 4, r = 6, nope = 4, rope = 2, V = 3, d = 16;
  const Tensor x = random_tensor({T, d}, 4);
  SequenceContext ctx;
  ctx.B = 1;
  ctx.T = T;
  const Tensor got = mla.forward(Variable(x), ctx).data();
  auto W = [&](const std::string& n) { return mla.parameter(n).data().to_vector(); };
  const std::vector<double> xv = x.to_vector(), Wq = W("q_proj.weight"), Wa = W("kv_a_proj_with_mqa.weight"),
                            g = W("kv_a_layernorm.weight"), Wb = W("kv_b_proj.weight"), Wo = W("o_proj.weight");
  auto linear = [&](const std::vector<double>& w, const double* in, int64_t n_in, int64_t n_out) {
    std::vector<double> y(static_cast<size_t>(n_out), 0.0);
    for (int64_t o = 0; o < n_out; ++o)
      for (int64_t i = 0; i < n_in; ++i) y[size_t(o)] += w[size_t(o * n_in + i)] * in[i];
    return y;
  };
  std::vector<std::vector<double>> q(T), k(T), v(T);  // per token: [H * (nope + rope)], ..., [H * V]
  for (int64_t t = 0; t < T; ++t) {
    q[size_t(t)] = linear(Wq, &xv[size_t(t * d)], d, H * (nope + rope));
    std::vector<double> a = linear(Wa, &xv[size_t(t * d)], d, r + rope);
    double ms = 0;
    for (int64_t i = 0; i < r; ++i) ms += a[size_t(i)] * a[size_t(i)] / double(r);
    std::vector<double> c(static_cast<size_t>(r));
    for (int64_t i = 0; i < r; ++i) c[size_t(i)] = a[size_t(i)] / std::sqrt(ms + m.norm.eps) * g[size_t(i)];
    const std::vector<double> kv = linear(Wb, c.data(), r, H * (nope + V));
    for (int64_t h = 0; h < H; ++h) {
      for (int64_t i = 0; i < nope; ++i) k[size_t(t)].push_back(kv[size_t(h * (nope + V) + i)]);
      for (int64_t i = 0; i < rope; ++i) k[size_t(t)].push_back(a[size_t(r + i)]);  // shared by the heads
      for (int64_t i = 0; i < V; ++i) v[size_t(t)].push_back(kv[size_t(h * (nope + V) + nope + i)]);
    }
  }
  const double scale = 1.0 / std::sqrt(double(nope + rope));
  std::vector<double> want;
  for (int64_t t = 0; t < T; ++t) {
    std::vector<double> o(static_cast<size_t>(H * V), 0.0);
    for (int64_t h = 0; h < H; ++h) {
      std::vector<double> s(static_cast<size_t>(t + 1));
      double mx = -1e300, sum = 0;
      for (int64_t j = 0; j <= t; ++j) {
        double dot = 0;
        for (int64_t i = 0; i < nope + rope; ++i)
          dot += q[size_t(t)][size_t(h * (nope + rope) + i)] * k[size_t(j)][size_t(h * (nope + rope) + i)];
        mx = std::max(mx, s[size_t(j)] = dot * scale);
      }
      for (double& e : s) sum += (e = std::exp(e - mx));
      for (int64_t j = 0; j <= t; ++j)
        for (int64_t i = 0; i < V; ++i) o[size_t(h * V + i)] += s[size_t(j)] / sum * v[size_t(j)][size_t(h * V + i)];
    }
    const std::vector<double> y = linear(Wo, o.data(), H * V, d);
    want.insert(want.end(), y.begin(), y.end());
  }
  EXPECT_TRUE(all_close(got, Tensor::from_vector(want, {T, d}, DType::f64), 1e-12, 1e-12));
}

TEST(MlaAttention, DecoderGradchecksThroughEveryProjection) {
  Decoder model(mla_model());
  Generator gen(5);
  model.init_parameters(gen);
  model.to(Device::cpu(), DType::f64);
  const Tensor ids = random_ids({2, 8}, 6), targets = random_ids({2, 8}, 7);
  const std::string a = "layers.0.self_attn.";
  GradcheckResult r = module_gradcheck(model,
                                       {a + "q_proj.weight", a + "kv_a_proj_with_mqa.weight", a + "kv_a_layernorm.weight",
                                        a + "kv_b_proj.weight", a + "o_proj.weight"},
                                       [&] { return model.loss(ids, targets); });
  EXPECT_TRUE(r.ok) << r.message;
}

// QK-clip: after a step, each head whose largest logit L exceeded tau has its q/k weights
// scaled by γ = tau / L (q_nope, k_nope by sqrt(γ), q's shared-slot part by γ), so the same
// inputs give exactly tau; heads below tau and the value weights stay as they were.
TEST(MlaAttention, QkClipCapsTheLargestLogitAtTau) {
  ModelConfig m = mla_model();
  MlaAttention mla(m.attention, m, Device::cpu(), DType::f64);
  for (auto& [n, p] : mla.named_parameters()) p.set_data(random_tensor(p.shape(), 20 + n.size(), -2.0, 2.0));
  const Tensor x = random_tensor({2 * 9, 16}, 21);
  SequenceContext ctx;
  ctx.B = 2;
  ctx.T = 9;
  auto max_logits = [&](double tau) {
    ModelConfig probe = m;
    probe.attention.mla.qk_clip_tau = tau;
    MlaAttention copy(probe.attention, probe, Device::cpu(), DType::f64);
    for (auto& [n, p] : copy.named_parameters()) p.set_data(mla.parameter(n).data().clone());
    copy.train();
    copy.forward(Variable(x), ctx);
    return copy.max_logits();
  };
  const std::vector<double> before = max_logits(1.0);
  std::vector<double> sorted = before;
  std::sort(sorted.begin(), sorted.end());
  const double tau = 0.5 * (sorted[1] + sorted[2]);  // two heads above, two below
  ModelConfig clipped = m;
  clipped.attention.mla.qk_clip_tau = tau;
  MlaAttention clip(clipped.attention, clipped, Device::cpu(), DType::f64);
  for (auto& [n, p] : clip.named_parameters()) p.set_data(mla.parameter(n).data().clone());
  clip.train();
  clip.forward(Variable(x), ctx);
  SingleRankCommunicator comm;
  clip.run_after_step(StepEnd{1, comm});
  for (auto& [n, p] : mla.named_parameters()) p.set_data(clip.parameter(n).data().clone());
  const std::vector<double> after = max_logits(1.0);
  for (size_t h = 0; h < 4; ++h) EXPECT_NEAR(after[h], std::min(before[h], tau), 1e-6 * tau) << h;
  // kv_b_proj's value rows (nope .. nope + v of each head) are untouched.
  const std::vector<double> w0 = random_tensor({28, 6}, 20 + std::string("kv_b_proj.weight").size(), -2.0, 2.0).to_vector();
  const std::vector<double> w1 = clip.parameter("kv_b_proj.weight").data().to_vector();
  for (int64_t h = 0; h < 4; ++h)
    for (int64_t r = 4; r < 7; ++r)
      for (int64_t c = 0; c < 6; ++c) EXPECT_EQ(w1[size_t((h * 7 + r) * 6 + c)], w0[size_t((h * 7 + r) * 6 + c)]);
}

TEST(MlaAttention, BadSettingsAreNamed) {
  auto problem = [](void (*apply)(ModelConfig&)) {
    ModelConfig m = mla_model();
    apply(m);
    return buildable_problem(m);
  };
  EXPECT_NE(problem([](ModelConfig& m) { m.attention.positions = PositionKind::rope; }).find("attention.positions"),
            std::string::npos);
  EXPECT_NE(problem([](ModelConfig& m) { m.attention.mla.v_head_dim = 0; }).find("attention.mla.v_head_dim"),
            std::string::npos);
  EXPECT_NE(problem([](ModelConfig& m) { m.attention.mla.qk_clip_tau = -1; }).find("attention.mla.qk_clip_tau"),
            std::string::npos);
  EXPECT_NE(problem([](ModelConfig& m) { m.attention.window = 4; }).find("attention.window"), std::string::npos);
  EXPECT_EQ(problem([](ModelConfig&) {}), "");
}
