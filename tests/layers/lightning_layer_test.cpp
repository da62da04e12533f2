// LinearAttention (kind lightning) as a token mixer: the released code's decay schedule (spec §2.3's worked
// values, the one-layer rule), parameter names, a gradcheck of a decoder built of it, and
// packed documents kept apart. Decoding against the full forward is in decoding_test.cpp.
#include <gtest/gtest.h>

#include <cmath>

#include "layers/decoder.h"
#include "layers/linear_attention.h"
#include "support/module_gradcheck.h"
#include "support/testing.h"
#include "support/tiny_models.h"

using namespace linea;
using namespace linea::testing;

namespace {

double lambda(const std::vector<double>& s, size_t h) { return std::exp(-s[h]); }

ModelConfig tiny_tnl() {
  ModelConfig m = tiny_decoder_config();
  m.attention.kind = AttentionKind::lightning;
  m.attention.positions = PositionKind::none;
  m.norm = {NormKind::simple_rmsnorm, 1e-6, NormPosition::pre};
  m.ffn.kind = FfnKind::sglu;
  m.kv_heads = m.heads;
  return m;
}

}  // namespace

TEST(LightningLayer, DecayFollowsTheReleasedCode) {
  // specs/transnormer.md §2.3: λ for head 0 / the last head.
  const std::vector<double> h8_l0 = tnl_decay(8, 0, 24);
  EXPECT_NEAR(lambda(h8_l0, 0), 0.6065, 1e-4);
  EXPECT_NEAR(lambda(h8_l0, 7), 0.99610, 1e-5);
  const std::vector<double> h32_l0 = tnl_decay(32, 0, 30);
  EXPECT_NEAR(lambda(h32_l0, 0), 0.4313, 1e-4);
  EXPECT_NEAR(lambda(h32_l0, 31), 0.99610, 1e-5);
  const std::vector<double> h16_l8 = tnl_decay(16, 8, 16);
  EXPECT_NEAR(lambda(h16_l8, 0), 0.7189, 1e-4);
  EXPECT_NEAR(lambda(h16_l8, 15), 0.99818, 1e-5);
  // The last layer barely decays; layer 0 decays most; s_h = slope_h (1 - l/(L-1) + 1e-5).
  for (double s : tnl_decay(8, 23, 24)) EXPECT_GE(std::exp(-s), 0.99999);
  for (int64_t layer : {0, 1, 2})
    for (size_t h = 0; h < 8; ++h) {
      const double slope = std::exp2(-8.0 * double(h + 1) / 8.0);
      EXPECT_NEAR(tnl_decay(8, layer, 3)[h], slope * (1.0 - double(layer) / 2.0 + 1e-5), 1e-16) << layer << h;
    }
  // §7.2's tiny model (4 layers x 4 heads): λ per layer and head, as the spec tabulates them.
  const double tiny[3][4] = {{0.7788, 0.9394, 0.9845, 0.9961}, {0.8465, 0.9592, 0.9896, 0.9974},
                             {0.9200, 0.9794, 0.9948, 0.9987}};
  for (int64_t layer = 0; layer < 3; ++layer)
    for (size_t h = 0; h < 4; ++h) EXPECT_NEAR(lambda(tnl_decay(4, layer, 4), h), tiny[layer][h], 5e-5) << layer << h;
  // One layer: l / (L - 1) is taken as 0, the layer-0 value of any deeper model.
  EXPECT_EQ(tnl_decay(8, 0, 1), tnl_decay(8, 0, 24));
}

TEST(LightningLayer, NamesAndGradcheck) {
  ModelConfig m = tiny_tnl();
  m.init_std = 0.3;
  Decoder model(m);
  std::vector<std::string> names;
  for (auto& [name, p] : model.named_parameters()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"embed_tokens.weight", "layers.0.self_attn.qkvu_proj.weight",
                                             "layers.0.self_attn.out_proj.weight", "layers.0.mlp.gate_proj.weight",
                                             "layers.0.mlp.up_proj.weight", "layers.0.mlp.down_proj.weight",
                                             "layers.1.self_attn.qkvu_proj.weight", "layers.1.self_attn.out_proj.weight",
                                             "layers.1.mlp.gate_proj.weight", "layers.1.mlp.up_proj.weight",
                                             "layers.1.mlp.down_proj.weight"}));
  Generator gen(51);
  model.init_parameters(gen);
  model.to(Device::cpu(), DType::f64);
  const Tensor ids = random_ids({2, 7}, 52), targets = random_ids({2, 7}, 53);
  GradcheckResult r = module_gradcheck(model, {"embed_tokens.weight", "layers.0.self_attn.qkvu_proj.weight",
                                               "layers.1.self_attn.out_proj.weight", "layers.1.mlp.up_proj.weight"},
                                       [&] { return model.loss(ids, targets); });
  EXPECT_TRUE(r.ok) << r.message;
}

// LRPE on the first layer (as every released TNL config): θ is a learnable [H, Dh] parameter
// starting at 10000^(-2 i / hidden), and the loss gradchecks through it.
TEST(LightningLayer, LrpeThetaIsLearnedAndGradchecks) {
  ModelConfig m = tiny_tnl();
  m.init_std = 0.3;
  AttentionConfig with_lrpe = m.attention;
  with_lrpe.positions = PositionKind::lrpe;
  m.layout = {LayerGroup{1, with_lrpe, m.ffn, {}}, LayerGroup{0, m.attention, m.ffn, {}}};
  Decoder model(m);
  const Tensor theta = model.parameter("layers.0.self_attn.lrpe_theta").data();
  ASSERT_EQ(theta.shape(), (Shape{4, 4}));
  EXPECT_NEAR(theta.at({0, 0}), 1.0, 1e-7);
  EXPECT_NEAR(theta.at({1, 2}), std::pow(10000.0, -2.0 * 6 / 16), 1e-7);
  EXPECT_THROW(model.parameter("layers.1.self_attn.lrpe_theta"), InternalError);  // layer 0 only
  Generator gen(61);
  model.init_parameters(gen);
  model.to(Device::cpu(), DType::f64);
  const Tensor ids = random_ids({2, 6}, 62), targets = random_ids({2, 6}, 63);
  GradcheckResult r = module_gradcheck(model, {"layers.0.self_attn.lrpe_theta", "layers.0.self_attn.qkvu_proj.weight"},
                                       [&] { return model.loss(ids, targets); });
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(LightningLayer, RefusesWhatItDoesNotImplement) {
  ModelConfig m = tiny_tnl();
  m.attention.positions = PositionKind::rope;
  EXPECT_THROW(Decoder{m}, ConfigError);
  m = tiny_tnl();
  m.attention.window = 4;
  EXPECT_THROW(Decoder{m}, ConfigError);
}
