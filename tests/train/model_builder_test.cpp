// The recipe-to-model mapping: what each model implements, and one clear ConfigError naming
// the key for every recipe feature it does not.
#include <gtest/gtest.h>

#include "configs/config.h"
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
  EncoderOptions o = encoder_options(m);
  EXPECT_EQ(o.hidden, 64);
  EXPECT_EQ(o.ffn_hidden, 96);
  EXPECT_EQ(o.type_vocab, 3);
  EXPECT_FALSE(o.unpad);
  EXPECT_EQ(o.norm_eps, 1e-12);
}

TEST(ModelBuilder, EncoderRefusesWhatItDoesNotImplement) {
  ModelConfig m = mosaicbert();
  m.ffn.kind = FfnKind::swiglu;
  expect_error<ConfigError>([&] { encoder_options(m); },
                            "model.ffn.kind: swiglu is not implemented by the encoder yet, expected geglu");
  m = mosaicbert();
  m.norm.position = NormPosition::pre;
  expect_error<ConfigError>([&] { encoder_options(m); }, "model.norm.position: pre is not implemented by the encoder");
  m = mosaicbert();
  m.attention.positions = PositionKind::rope;
  expect_error<ConfigError>([&] { encoder_options(m); }, "model.attention.positions: rope is not implemented by the encoder");
  m = mosaicbert();
  m.kv_heads = 2;
  expect_error<ConfigError>([&] { encoder_options(m); }, "model.kv_heads: 2 differs from model.heads");
  m = mosaicbert();
  m.tie_embeddings = false;
  expect_error<ConfigError>([&] { encoder_options(m); }, "model.tie_embeddings: false is not implemented by the encoder");
  expect_error<ConfigError>([&] { decoder_options(mosaicbert()); },
                            "model.kind: encoder is not implemented by the decoder yet, expected decoder");
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

TEST(ModelBuilder, TrainRecomputeReachesBothModels) {
  Config c;
  EXPECT_FALSE(decoder_options(c).recompute);
  c.train.recompute = true;
  EXPECT_TRUE(decoder_options(c).recompute);
  c.model = mosaicbert();
  EXPECT_TRUE(encoder_options(c).recompute);
}

TEST(ModelBuilder, CheckBuildableRefusesWhatTrainWould) {
  Config c;
  check_buildable(c);  // the default decoder
  c.model.attention.kind = AttentionKind::kda;
  expect_error<ConfigError>([&] { check_buildable(c); },
                            "model.attention.kind: kda is not implemented by the decoder yet, expected softmax");
  Config e;
  e.model = mosaicbert();
  e.data.objective = Objective::mlm;
  check_buildable(e);
  e.data.objective = Objective::causal;
  expect_error<ConfigError>([&] { check_buildable(e); }, "data.objective: causal does not go with model.kind encoder");
}

}  // namespace
