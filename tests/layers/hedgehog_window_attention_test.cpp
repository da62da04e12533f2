// The hedgehog_window token mixer (LoLCATs, specs/lolcats.md §1): with a window covering the
// whole sequence it is the softmax mixer on the same projections (RoPE, GQA and o_proj wired
// alike; γ cancels), its feature maps start as the identity map's two softmaxes, and a decoder
// of such layers gradchecks through the projections, both maps and the window factors, for
// each layout and feature map. Decoding against the full forward is in decoding_test.cpp.
#include <gtest/gtest.h>

#include <cmath>

#include "layers/decoder.h"
#include "layers/hedgehog_window_attention.h"
#include "support/module_gradcheck.h"
#include "support/testing.h"
#include "support/tiny_models.h"

using namespace linea;
using namespace linea::testing;

namespace {

ModelConfig hedgehog_model(WindowLayout layout, int64_t window, FeatureMapKind kind = FeatureMapKind::hedgehog) {
  ModelConfig m = tiny_decoder_config();  // hidden 16, 4 heads over 2 KV heads: head_dim 4
  m.init_std = 0.3;
  m.attention.kind = AttentionKind::hedgehog_window;
  m.attention.window_layout = layout;
  m.attention.window = window;
  m.attention.feature_kind = kind;
  m.attention.feature_dim = kind == FeatureMapKind::hedgehog ? 3 : 4;
  return m;
}

}  // namespace

TEST(HedgehogWindowAttention, WithTheWholeSequenceInTheWindowItIsSoftmaxAttention) {
  for (WindowLayout layout : {WindowLayout::terrace, WindowLayout::sliding}) {
    const ModelConfig hybrid = hedgehog_model(layout, 16);
    ModelConfig softmax = hybrid;
    softmax.attention.kind = AttentionKind::softmax;
    softmax.attention.window = 0;
    Decoder a(hybrid), b(softmax);
    Generator g1(3), g2(3);  // the same draws: the Linear weights come in the same order
    a.init_parameters(g1);
    b.init_parameters(g2);
    const Tensor ids = random_ids({2, 11}, 4);
    EXPECT_TRUE(all_close(a.forward(ids).data(), b.forward(ids).data(), 1e-5, 1e-5)) << int(layout);
  }
}

TEST(HedgehogWindowAttention, FeatureMapsStartAsTheIdentitysTwoSoftmaxes) {
  FeatureMap map(FeatureMapKind::hedgehog, 2, 4, 3, Device::cpu(), DType::f64);
  const Tensor x = random_tensor({1, 2, 5, 4}, 7, -2, 2);
  const Tensor phi = map.forward(Variable(x)).data();
  ASSERT_EQ(phi.shape(), (Shape{1, 2, 5, 6}));
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t t = 0; t < 5; ++t) {
      double pos = 0, neg = 0;
      for (int64_t i = 0; i < 3; ++i) {
        pos += std::exp(x.at({0, h, t, i}));
        neg += std::exp(-x.at({0, h, t, i}));
      }
      for (int64_t i = 0; i < 3; ++i) {
        EXPECT_NEAR(phi.at({0, h, t, i}), std::exp(x.at({0, h, t, i})) / pos, 1e-15);
        EXPECT_NEAR(phi.at({0, h, t, 3 + i}), std::exp(-x.at({0, h, t, i})) / neg, 1e-15);
      }
    }
  FeatureMap t2r(FeatureMapKind::t2r, 2, 4, 4, Device::cpu(), DType::f64);
  const Tensor r = t2r.forward(Variable(x)).data();
  for (int64_t i = 0; i < x.numel(); ++i)
    EXPECT_EQ(r.flatten().at({i}), std::max(x.flatten().at({i}), 1e-12)) << "relu(x), floored at 1e-12";
}

TEST(HedgehogWindowAttention, ParametersAreNamedAsLolcatsCheckpoints) {
  Decoder model(hedgehog_model(WindowLayout::terrace, 4, FeatureMapKind::t2r));
  std::vector<std::string> names;
  for (const auto& [n, p] : model.named_parameters())
    if (n.rfind("layers.0.self_attn.", 0) == 0) names.push_back(n.substr(19));
  EXPECT_EQ(names, (std::vector<std::string>{"window_factors", "q_proj.weight", "k_proj.weight", "v_proj.weight",
                                             "o_proj.weight", "feature_map_q.mlp.layer", "feature_map_q.mlp.bias",
                                             "feature_map_k.mlp.layer", "feature_map_k.mlp.bias"}));
  EXPECT_NEAR(1.0 / (1.0 + std::exp(-model.parameter("layers.1.self_attn.window_factors").data().at({2}))), 0.1, 1e-7);  // f32
}

TEST(HedgehogWindowAttention, DecoderGradchecksThroughMapsAndWindowFactors) {
  struct Case {
    WindowLayout layout;
    int64_t window;
    FeatureMapKind kind;
    bool affine;
  };
  for (const Case& c : {Case{WindowLayout::terrace, 3, FeatureMapKind::hedgehog, false},
                        Case{WindowLayout::sliding, 2, FeatureMapKind::t2r, true},
                        Case{WindowLayout::sliding, 0, FeatureMapKind::hedgehog, false}}) {
    ModelConfig m = hedgehog_model(c.layout, c.window, c.kind);
    m.attention.affine_factors = c.affine;
    Decoder model(m);
    Generator gen(95);
    model.init_parameters(gen);
    model.to(Device::cpu(), DType::f64);
    // Maps away from the identity, and window weights apart per head.
    for (auto& [n, p] : model.named_parameters())
      if (n.find("feature_map") != std::string::npos || n.find("window_factors") != std::string::npos)
        p.set_data(random_tensor(p.shape(), 50 + n.size(), -1.0, 1.0));
    const Tensor ids = random_ids({2, 9}, 96), targets = random_ids({2, 9}, 97);
    std::vector<std::string> names = {"layers.0.self_attn.q_proj.weight", "layers.0.self_attn.k_proj.weight",
                                      "layers.0.self_attn.feature_map_q.mlp.layer",
                                      "layers.1.self_attn.feature_map_k.mlp.layer", "layers.1.self_attn.window_factors"};
    if (c.kind == FeatureMapKind::t2r) names.push_back("layers.0.self_attn.feature_map_k.mlp.bias");
    GradcheckResult r = module_gradcheck(model, names, [&] { return model.loss(ids, targets); });
    EXPECT_TRUE(r.ok) << int(c.layout) << " window " << c.window << ": " << r.message;
  }
}
