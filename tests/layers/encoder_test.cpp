// Encoder (MosaicBERT): GeGLU and MLM-head gradchecks, the unpadded path equal to the padded
// path (loss and every gradient), the last-layer subset equal to selecting from a full
// forward, a gradcheck of the MLM loss w.r.t. parameters (f64), init and parameter count.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functional.h"
#include "data/unpad.h"
#include "layers/encoder.h"
#include "layers/geglu.h"
#include "support/module_gradcheck.h"
#include "support/testing.h"
#include "support/tiny_models.h"

using namespace linea;
using namespace linea::testing;

namespace {

// A [3, 7] batch with rows of 7, 4 and 2 real tokens (pad id 0), sentence B in row 0's tail,
// and labels at 6 real positions.
struct Fixture {
  EncoderBatch batch;
  Tensor labels;
};
Fixture fixture() {
  const std::vector<int64_t> lengths = {7, 4, 2};
  std::vector<double> ids, mask, types, labels(21, -100);
  for (int64_t b = 0; b < 3; ++b)
    for (int64_t t = 0; t < 7; ++t) {
      const bool real = t < lengths[size_t(b)];
      ids.push_back(real ? double(1 + (b * 13 + t * 7) % 40) : 0);
      mask.push_back(real);
      types.push_back(b == 0 && t >= 4);
    }
  for (int64_t p : {1, 4, 6, 8, 10, 15}) labels[size_t(p)] = double(3 + (p * 5) % 37);
  Fixture f;
  f.batch.input_ids = Tensor::from_vector(ids, {3, 7}, DType::i64);
  f.batch.attention_mask = Tensor::from_vector(mask, {3, 7}, DType::u8);
  f.batch.token_type_ids = Tensor::from_vector(types, {3, 7}, DType::i64);
  f.labels = Tensor::from_vector(labels, {3, 7}, DType::i64);
  return f;
}

// The rows of `batch` as `model` computes on them (unpadded or padded, as its config says).
EncoderRows rows_for(const Encoder& model, const EncoderBatch& batch) {
  return encoder_rows(batch, model.config().unpad);
}

std::unique_ptr<Encoder> make(bool unpad, DType dtype = DType::f64) {
  auto model = std::make_unique<Encoder>(tiny_encoder_config(unpad));
  Generator gen(7);
  model->init_parameters(gen);
  model->to(Device::cpu(), dtype);
  return model;
}

TEST(GeGLU, ForwardIsGeluOfFirstHalfTimesSecondHalfAndGradchecks) {
  GeGLU mlp(4, 3, 0.0);
  Generator gen(1);
  normal_(mlp.gated_layers().weight().data(), gen, 0, 0.7);
  normal_(mlp.wo().weight().data(), gen, 0, 0.7);
  normal_(mlp.wo().bias().data(), gen, 0, 0.7);
  mlp.to(Device::cpu(), DType::f64);
  Tensor x = random_tensor({5, 4}, 2, -2, 2);
  // Reference: u = x W^T; h = gelu_erf(u[:, :3]) * u[:, 3:]; y = h wo^T + b.
  const std::vector<double> X = x.to_vector(), W = mlp.gated_layers().weight().data().to_vector(),
                            Wo = mlp.wo().weight().data().to_vector(), bo = mlp.wo().bias().data().to_vector();
  Tensor y = mlp.forward(Variable(x)).data();
  for (int64_t r = 0; r < 5; ++r) {
    double h[3];
    for (int64_t i = 0; i < 3; ++i) {
      double g = 0, l = 0;
      for (int64_t c = 0; c < 4; ++c) {
        g += X[size_t(r * 4 + c)] * W[size_t(i * 4 + c)];
        l += X[size_t(r * 4 + c)] * W[size_t((i + 3) * 4 + c)];
      }
      h[i] = 0.5 * g * (1 + std::erf(g / std::sqrt(2.0))) * l;
    }
    for (int64_t o = 0; o < 4; ++o) {
      double e = bo[size_t(o)];
      for (int64_t i = 0; i < 3; ++i) e += h[i] * Wo[size_t(o * 3 + i)];
      EXPECT_NEAR(y.at({r, o}), e, 1e-12);
    }
  }
  auto fn = [&](const std::vector<Variable>& in) { return mlp.forward(in[0]); };
  LINEA_EXPECT_GRADCHECK(fn, std::vector<Tensor>{x});
  GradcheckResult r = module_gradcheck(mlp, {"gated_layers.weight", "wo.weight", "wo.bias"},
                                       [&] { return sum(mul(mlp.forward(Variable(x)), mlp.forward(Variable(x)))); });
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(MlmHead, GradchecksWrtInputAndTiedEmbeddings) {
  ModelConfig opt = tiny_encoder_config(true);
  MlmHead head(opt, Device::cpu(), DType::f32);
  Generator gen(3);
  for (auto& [name, p] : head.named_parameters()) normal_(p.data(), gen, 0, 0.5);
  head.to(Device::cpu(), DType::f64);
  auto fn = [&](const std::vector<Variable>& in) { return head.forward(in[0], in[1]); };
  LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_tensor({4, 12}, 4, -1, 1), random_tensor({41, 12}, 5, -1, 1)}));
  Tensor x = random_tensor({4, 12}, 6, -1, 1);
  Variable emb(random_tensor({41, 12}, 7, -1, 1));
  GradcheckResult r = module_gradcheck(head, {"dense.weight", "dense.bias", "norm.weight", "norm.bias", "decoder_bias"},
                                       [&] { return cross_entropy(head.forward(Variable(x), emb), Tensor::from_vector({1, 40, 7, 7}, {4}, DType::i64)); });
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(Encoder, ParameterNamesAndCountFollowMosaicBert) {
  Encoder model(tiny_encoder_config(true));
  const auto named = model.named_parameters();
  std::vector<std::string> names;
  for (auto& [n, p] : named) names.push_back(n);
  for (const char* n : {"embeddings.word_embeddings.weight", "embeddings.token_type_embeddings.weight",
                        "embeddings.norm.weight", "layers.0.attention.Wqkv.weight", "layers.0.attention.Wqkv.bias",
                        "layers.1.attention.out_proj.bias", "layers.1.attention_norm.weight",
                        "layers.0.mlp.gated_layers.weight", "layers.0.mlp.wo.bias", "layers.1.mlp_norm.bias",
                        "mlm_head.dense.weight", "mlm_head.norm.weight", "mlm_head.decoder_bias"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  EXPECT_EQ(std::find(names.begin(), names.end(), "layers.0.mlp.gated_layers.bias"), names.end());
  // specs/mosaicbert.md 1.1: V H + 2 H + LN, per layer 3H^2+3H + H^2+H + 2H(LN) + 2 H I + I H + H + 2H(LN),
  // head H^2 + H + 2H + V. With V 41, H 12, I 10, 2 layers:
  const int64_t V = 41, H = 12, I = 10;
  const int64_t expected = V * H + 2 * H + 2 * H + 2 * (3 * H * H + 3 * H + H * H + H + 2 * H + 2 * H * I + I * H + H + 2 * H) +
                           H * H + H + 2 * H + V;
  EXPECT_EQ(model.num_parameters(), expected);
}

TEST(Encoder, InitZeroesThePadRowAndBiases) {
  auto model = make(true, DType::f32);
  Tensor w = model->embeddings().word_embeddings().weight().data();
  for (double v : w.select(0, 0).to_vector()) EXPECT_EQ(v, 0.0);
  for (double v : model->parameter("layers.0.attention.Wqkv.bias").data().to_vector()) EXPECT_EQ(v, 0.0);
  for (double v : model->parameter("layers.0.mlp_norm.weight").data().to_vector()) EXPECT_EQ(v, 1.0);
  double sum2 = 0;
  const std::vector<double> row = w.narrow(0, 1, 40).to_vector();
  for (double v : row) sum2 += v * v;
  EXPECT_NEAR(std::sqrt(sum2 / double(row.size())), 0.3, 0.05);
}

// TransNormer v1's bidirectional mixers (diag_block, then norm_linear) see only each
// sequence's real tokens too: packed and padded rows give the same loss and gradients.
TEST(Encoder, TransNormerV1MixersUnpaddedEqualsPadded) {
  Fixture f = fixture();
  auto make_v1 = [](bool unpad) {
    ModelConfig m = tiny_encoder_config(unpad);
    AttentionConfig diag = m.attention;
    diag.kind = AttentionKind::diag_block;
    diag.positions = PositionKind::none;
    diag.block = 3;  // row 0's 7 tokens span three blocks
    AttentionConfig norm = diag;
    norm.kind = AttentionKind::norm_linear;
    norm.feature_map = Activation::elu_plus_one;
    m.layout = {LayerGroup{1, diag, m.ffn, {}}, LayerGroup{1, norm, m.ffn, {}}};
    auto model = std::make_unique<Encoder>(m);
    Generator gen(9);
    model->init_parameters(gen);
    model->to(Device::cpu(), DType::f64);
    return model;
  };
  auto unpadded = make_v1(true), padded = make_v1(false);
  Encoder::MlmOutput a = unpadded->mlm(rows_for(*unpadded, f.batch), f.labels);
  Encoder::MlmOutput b = padded->mlm(rows_for(*padded, f.batch), f.labels);
  EXPECT_NEAR(a.loss.data().item(), b.loss.data().item(), 1e-13);
  a.loss.backward();
  b.loss.backward();
  for (const char* name : {"layers.0.attention.qkv_proj.weight", "layers.1.attention.qkv_proj.bias"})
    EXPECT_TRUE(all_close(unpadded->parameter(name).grad(), padded->parameter(name).grad(), 1e-12, 1e-12)) << name;
}

TEST(Encoder, UnpaddedEqualsPaddedLossAndGradients) {
  Fixture f = fixture();
  auto unpadded = make(true), padded = make(false);
  Encoder::MlmOutput a = unpadded->mlm(rows_for(*unpadded, f.batch), f.labels);
  Encoder::MlmOutput b = padded->mlm(rows_for(*padded, f.batch), f.labels);
  EXPECT_NEAR(a.loss.data().item(), b.loss.data().item(), 1e-13);
  EXPECT_TRUE(all_close(a.logits, b.logits, 1e-12, 1e-12));
  EXPECT_EQ(a.targets.to_vector(), b.targets.to_vector());
  a.loss.backward();
  b.loss.backward();
  for (auto& [name, p] : unpadded->named_parameters())
    EXPECT_TRUE(all_close(p.grad(), padded->parameter(name).grad(), 1e-12, 1e-12)) << name;
  // Padding never reaches the loss, so the pad row of the embeddings gets gradient only from the tied decoder.
}

TEST(Encoder, LastLayerSubsetEqualsSelectingFromAllRows) {
  Fixture f = fixture();
  auto model = make(true);
  std::vector<int64_t> all;
  for (int64_t p : {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15}) all.push_back(p);
  Tensor full = model->forward(rows_for(*model, f.batch), all).data();
  Tensor some = model->forward(rows_for(*model, f.batch), {15, 4, 8}).data();
  EXPECT_TRUE(all_close(some.select(0, 0), full.select(0, 12), 1e-13, 1e-13));
  EXPECT_TRUE(all_close(some.select(0, 1), full.select(0, 4), 1e-13, 1e-13));
  EXPECT_TRUE(all_close(some.select(0, 2), full.select(0, 8), 1e-13, 1e-13));
  expect_error<DataError>([&] { model->forward(rows_for(*model, f.batch), {5, 20}); },
                          "position 20 is not a real token");
}

TEST(Encoder, SequencesDoNotSeeEachOther) {
  // Changing row 2's tokens leaves rows 0 and 1 unchanged, on both paths.
  for (bool unpad : {true, false}) {
    Fixture f = fixture(), g = fixture();
    g.batch.input_ids.set({2, 1}, 33);
    auto model = make(unpad);
    Tensor a = model->forward(rows_for(*model, f.batch), {0, 5, 7, 14, 15}).data();
    Tensor b = model->forward(rows_for(*model, g.batch), {0, 5, 7, 14, 15}).data();
    EXPECT_TRUE(all_close(a.narrow(0, 0, 3), b.narrow(0, 0, 3), 0, 0)) << unpad;
    EXPECT_FALSE(all_close(a.narrow(0, 3, 2), b.narrow(0, 3, 2), 1e-6, 0)) << unpad;
  }
}

TEST(Encoder, GradcheckMlmLossWrtParameters) {
  Fixture f = fixture();
  auto model = make(true);
  const std::vector<std::string> names{"embeddings.word_embeddings.weight", "embeddings.token_type_embeddings.weight",
                                       "layers.0.attention.Wqkv.weight",    "layers.1.attention.out_proj.bias",
                                       "layers.0.mlp.gated_layers.weight",  "layers.1.mlp_norm.weight",
                                       "mlm_head.dense.weight",             "mlm_head.decoder_bias"};
  GradcheckResult r =
      module_gradcheck(*model, names, [&] { return model->mlm(rows_for(*model, f.batch), f.labels).loss; });
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(Encoder, BadBatchesAreErrors) {
  Fixture f = fixture();
  auto model = make(false);
  EncoderBatch holes = f.batch;
  holes.attention_mask = f.batch.attention_mask.clone();
  holes.attention_mask.set({0, 2}, 0);
  expect_error<DataError>([&] { model->forward(rows_for(*model, holes), {0}); },
                          "attention_mask row 0 has padding before a real token");
  Tensor bad = f.labels.clone();
  bad.set({0, 0}, 41);
  expect_error<DataError>([&] { model->mlm(rows_for(*model, f.batch), bad); },
                          "label 41 at position 0 is outside the vocabulary of 41");
}

}  // namespace
