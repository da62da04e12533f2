// The recipe's model section built as is, the objective that must go with it, and
// check_buildable naming the key of every kind or option no layer implements yet.
#include <gtest/gtest.h>

#include "configs/config.h"
#include "layers/encoder.h"
#include "support/testing.h"
#include "train/model_builder.h"
#include "train/objective.h"

using namespace linea;
using namespace linea::testing;

namespace {

ModelConfig mosaicbert() {
  ModelConfig m;
  m.kind = ModelKind::encoder;
  m.ffn.kind = FfnKind::geglu;
  m.norm = {NormKind::layernorm, 1e-12, NormPosition::post};
  m.attention.positions = PositionKind::alibi;
  return m;
}

TEST(ModelBuilder, EncoderTakesTheMosaicBertRecipe) {
  ModelConfig m = mosaicbert();
  m.hidden = 64;
  m.heads = m.kv_heads = 4;
  m.ffn.hidden = 96;
  m.type_vocab_size = 3;
  m.unpad = false;
  Encoder model(m);
  EXPECT_EQ(model.parameter("layers.0.mlp.gated_layers.weight").shape(), (Shape{192, 64}));
  EXPECT_EQ(model.parameter("embeddings.token_type_embeddings.weight").shape(), (Shape{3, 64}));
  EXPECT_EQ(model.parameter("layers.1.attention.Wqkv.bias").shape(), (Shape{192}));
}

TEST(ModelBuilder, ObjectiveMustMatchTheModel) {
  Config c;
  c.model = mosaicbert();  // data.objective stays causal
  expect_error<ConfigError>([&] { make_objective(c, Device::cpu(), DType::f32); },
                            "data.objective: causal does not go with model.kind encoder, expected mlm for an encoder");
  Config d;
  d.data.objective = Objective::mlm;
  expect_error<ConfigError>([&] { make_objective(d, Device::cpu(), DType::f32); },
                            "data.objective: mlm does not go with model.kind decoder, expected causal for a decoder");
}

TEST(ModelBuilder, CheckBuildableNamesTheKeyOfWhatIsNotImplemented) {
  Config c;
  check_buildable(c);  // the default decoder
  c.model.ffn.kind = FfnKind::mlp;
  expect_error<ConfigError>([&] { check_buildable(c); }, "model.ffn.kind: mlp is not implemented yet, expected swiglu");
  c = Config();
  c.model.kind = ModelKind::encoder;
  c.model.attention.kind = AttentionKind::kda;
  expect_error<ConfigError>([&] { check_buildable(c); },
                            "model.attention.kind: kda is not implemented by the encoder yet, expected softmax");
  c = Config();
  c.model.layers = 3;
  c.model.layout = {LayerGroup{1, c.model.attention, c.model.ffn, {}}, LayerGroup{0, c.model.attention, c.model.ffn, {}}};
  c.model.layout[1].pattern = {LayerSpec{c.model.attention, c.model.ffn}};
  c.model.layout[1].pattern[0].ffn.kind = FfnKind::mlp;
  expect_error<ConfigError>([&] { check_buildable(c); },
                            "model.layout[1].pattern[0].ffn.kind: mlp is not implemented yet, expected swiglu, geglu, sglu, glu or moe");
  c = Config();
  c.model.layer_pattern = {AttentionKind::softmax, AttentionKind::mla};
  expect_error<ConfigError>([&] { check_buildable(c); },
                            "model.layer_pattern[1] with model.attention.positions: rope is not implemented with mla attention");
  // The TransNormer kinds' options: positions, feature maps, block; LRPE is the linear kinds' alone.
  c = Config();
  c.model.attention.kind = AttentionKind::lightning;
  expect_error<ConfigError>([&] { check_buildable(c); },
                            "model.attention.positions: rope is not implemented with lightning attention, expected "
                            "none or lrpe");
  c.model.attention.positions = PositionKind::lrpe;
  check_buildable(c);
  c.model.attention.feature_map = Activation::gelu;
  expect_error<ConfigError>([&] { check_buildable(c); },
                            "model.attention.feature_map: gelu is not implemented, expected silu (TNL's checkpoints) or none");
  c = Config();
  c.model.attention.positions = PositionKind::lrpe;
  expect_error<ConfigError>([&] { check_buildable(c); },
                            "model.attention.positions: lrpe is not implemented with softmax attention");
  c.model.attention.positions = PositionKind::urpe;
  expect_error<ConfigError>([&] { check_buildable(c); },
                            "model.attention.positions: urpe is not implemented with softmax attention");
  c.model.attention.positions = PositionKind::lrpe;
  c.model.attention.kind = AttentionKind::diag_block;
  expect_error<ConfigError>([&] { check_buildable(c); },
                            "model.attention.positions: lrpe is not implemented with diag_block attention, expected "
                            "none or urpe");
  c.model.attention.positions = PositionKind::urpe;
  check_buildable(c);
  c.model.attention.kind = AttentionKind::lightning;
  expect_error<ConfigError>([&] { check_buildable(c); },
                            "model.attention.positions: urpe is not implemented with lightning attention, expected "
                            "none or lrpe");
  c.model.attention.kind = AttentionKind::diag_block;
  c.model.attention.positions = PositionKind::none;
  c.model.attention.block = 0;
  expect_error<ConfigError>([&] { check_buildable(c); }, "model.attention.block: 0 is not implemented with diag_block, expected > 0");
  c = Config();
  c.model.attention.kind = AttentionKind::norm_linear;
  c.model.attention.positions = PositionKind::none;
  c.model.attention.feature_map = Activation::gelu;
  expect_error<ConfigError>([&] { check_buildable(c); },
                            "model.attention.feature_map: gelu is not implemented with norm_linear, expected elu");
  c.model.attention.feature_map = Activation::elu_plus_one;
  check_buildable(c);
  Config e;
  e.model = mosaicbert();
  e.data.objective = Objective::mlm;
  check_buildable(e);
  e.model.scale_embeddings = true;
  expect_error<ConfigError>([&] { check_buildable(e); }, "model.scale_embeddings: true is not implemented by the encoder");
  e.model.scale_embeddings = false;
  e.model.attention.window = 8;
  expect_error<ConfigError>([&] { check_buildable(e); }, "model.attention.window: 8 is not implemented by the encoder");
  e.model = mosaicbert();
  e.model.attention.positions = PositionKind::rope;
  expect_error<ConfigError>([&] { check_buildable(e); }, "model.attention.positions: rope is not implemented by the encoder");
  // TransNormer v1's kinds are bidirectional in an encoder; lightning's decay is causal.
  for (AttentionKind kind : {AttentionKind::norm_linear, AttentionKind::diag_block, AttentionKind::lightning}) {
    e.model = mosaicbert();
    e.model.attention.kind = kind;
    e.model.attention.positions = PositionKind::none;
    e.model.attention.feature_map = Activation::elu;
    if (kind == AttentionKind::lightning)
      expect_error<ConfigError>([&] { check_buildable(e); },
                                "model.attention.kind: lightning is not implemented by the encoder yet");
    else
      check_buildable(e);
  }
  e.model = mosaicbert();
  e.model.ffn.bias = true;
  expect_error<ConfigError>([&] { check_buildable(e); }, "model.ffn.bias: true is not implemented by the encoder's geglu");
  e.model = mosaicbert();
  e.model.kv_heads = 2;
  expect_error<ConfigError>([&] { check_buildable(e); }, "model.kv_heads: 2 differs from model.heads");
  e.model = mosaicbert();
  e.model.tie_embeddings = false;
  expect_error<ConfigError>([&] { check_buildable(e); }, "model.tie_embeddings: false is not implemented by the encoder");
  e.model = mosaicbert();
  e.data.objective = Objective::causal;
  expect_error<ConfigError>([&] { check_buildable(e); }, "data.objective: causal does not go with model.kind encoder");
}

}  // namespace
