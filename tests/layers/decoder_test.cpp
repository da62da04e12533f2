// Decoder: parameter names and count, forward shapes, tied vs untied heads, causality, a
// gradcheck of the loss w.r.t. parameters (f64), SGD lowering the loss on a fixed batch,
// recompute matching plain backward, init statistics and the FLOPs formula.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/node.h"
#include "core/kernels/elementwise.h"
#include "layers/decoder.h"
#include "support/module_gradcheck.h"
#include "support/testing.h"
#include "support/tiny_models.h"

using namespace linea;
using namespace linea::testing;

namespace {

// Copies every parameter of `from` into the same-named parameter of `to`.
void copy_parameters(const Module& from, const Module& to) {
  for (auto& [name, v] : from.named_parameters()) to.parameter(name).set_data(v.data().clone());
}

}  // namespace

TEST(Decoder, HuggingFaceNamesAndCount) {
  for (bool tie : {true, false}) {
    Decoder model(tiny_decoder_config(tie));
    std::vector<std::string> names;
    for (auto& entry : model.named_parameters()) names.push_back(entry.first);
    std::vector<std::string> expected{"embed_tokens.weight"};
    for (int l = 0; l < 2; ++l)
      for (const char* n : {"input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight",
                            "self_attn.v_proj.weight", "self_attn.o_proj.weight", "post_attention_layernorm.weight",
                            "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight"})
        expected.push_back("layers." + std::to_string(l) + "." + n);
    expected.push_back("norm.weight");
    if (!tie) expected.push_back("lm_head.weight");
    EXPECT_EQ(names, expected);
    // V C embedding + per layer (2 norms, q and o [C, C], k and v [Hkv D, C], 3 MLP [F, C])
    // + final norm (+ lm_head).
    const int64_t V = 37, C = 16, KV = 2 * 4, F = 24;
    const int64_t per_layer = 2 * C + 2 * C * C + 2 * KV * C + 3 * F * C;
    EXPECT_EQ(model.num_parameters(), V * C + 2 * per_layer + C + (tie ? 0 : V * C));
    EXPECT_EQ(model.parameter("layers.1.self_attn.k_proj.weight").shape(), (Shape{KV, C}));
    EXPECT_EQ(model.parameter("layers.0.mlp.down_proj.weight").shape(), (Shape{C, F}));
    EXPECT_EQ(model.output_weight().impl(), model.parameter(tie ? "embed_tokens.weight" : "lm_head.weight").impl());
  }
}

TEST(Decoder, ForwardShapeAndIdDtypes) {
  Decoder model(tiny_decoder_config());
  Generator gen(1);
  model.init_parameters(gen);
  Tensor ids = random_ids({2, 5}, 3);
  Variable logits = model.forward(ids);
  EXPECT_EQ(logits.shape(), (Shape{2, 5, 37}));
  EXPECT_TRUE(all_close(model.forward(ids.to(DType::i32)).data(), logits.data(), 0, 0));
  EXPECT_EQ(model.loss(ids, random_ids({2, 5}, 4)).shape(), Shape{});
  EXPECT_THROW(model.forward(random_ids({1, 17}, 5)), ShapeError);  // past max_seq_len
  EXPECT_THROW(model.loss(ids, random_ids({2, 4}, 6)), ShapeError);
}

TEST(Decoder, TiedEqualsUntiedWithCopiedHead) {
  Decoder tied(tiny_decoder_config(true)), untied(tiny_decoder_config(false));
  Generator gen(2);
  tied.init_parameters(gen);
  copy_parameters(tied, untied);
  untied.parameter("lm_head.weight").set_data(tied.parameter("embed_tokens.weight").data().clone());
  Tensor ids = random_ids({2, 6}, 7);
  EXPECT_TRUE(all_close(untied.forward(ids).data(), tied.forward(ids).data(), 0, 0));
}

TEST(Decoder, CausalFutureTokensDoNotChangeEarlierLogits) {
  Decoder model(tiny_decoder_config());
  Generator gen(3);
  model.init_parameters(gen);
  Tensor ids = random_ids({2, 7}, 8);
  Tensor changed = ids.clone();
  for (int64_t b = 0; b < 2; ++b) changed.set({b, 4}, double((int64_t(ids.at({b, 4})) + 5) % 37));
  Tensor a = model.forward(ids).data(), c = model.forward(changed).data();
  EXPECT_TRUE(all_close(c.narrow(1, 0, 4), a.narrow(1, 0, 4), 0, 0));
  EXPECT_FALSE(all_close(c.narrow(1, 4, 3), a.narrow(1, 4, 3), 1e-6, 0));
  // A shorter sequence (a different rope table length) gives the same prefix.
  EXPECT_TRUE(all_close(model.forward(ids.narrow(1, 0, 3).contiguous()).data(), a.narrow(1, 0, 3), 1e-6, 1e-6));
}

TEST(Decoder, SlidingWindowSeesOnlyTheLastWindowTokens) {
  // Window 3: the token at position 1 reaches positions 1..3 directly, and later ones only
  // through the layers below (2 layers: up to position 1 + 2 * 2 = 5). A window of T or more
  // is plain causal attention, bit for bit.
  ModelConfig opt = tiny_decoder_config();
  Decoder full(opt);
  Generator gen(3);
  full.init_parameters(gen);
  opt.attention.window = 3;
  Decoder windowed(opt);
  copy_parameters(full, windowed);
  Tensor ids = random_ids({2, 9}, 8);
  Tensor changed = ids.clone();
  for (int64_t b = 0; b < 2; ++b) changed.set({b, 1}, double((int64_t(ids.at({b, 1})) + 5) % 37));
  Tensor a = windowed.forward(ids).data(), c = windowed.forward(changed).data();
  EXPECT_TRUE(all_close(c.narrow(1, 0, 1), a.narrow(1, 0, 1), 0, 0));
  EXPECT_FALSE(all_close(c.narrow(1, 1, 5), a.narrow(1, 1, 5), 1e-6, 0));
  EXPECT_TRUE(all_close(c.narrow(1, 6, 3), a.narrow(1, 6, 3), 0, 0)) << "position 1 leaked past two windows";
  // The first 3 positions see the same keys with and without the window.
  EXPECT_TRUE(all_close(a.narrow(1, 0, 3), full.forward(ids).data().narrow(1, 0, 3), 0, 0));
  opt.attention.window = 9;
  Decoder wide(opt);
  copy_parameters(full, wide);
  EXPECT_TRUE(all_close(wide.forward(ids).data(), full.forward(ids).data(), 0, 0));
  EXPECT_EQ(windowed.flops_per_token(9), full.flops_per_token(9) - 12 * 2 * 16 * (9 - 3));
}

TEST(Decoder, GradcheckLossWrtParameters) {
  ModelConfig opt = tiny_decoder_config();
  opt.init_std = 0.3;
  Decoder model(opt);
  Generator gen(4);
  model.init_parameters(gen);
  model.to(Device::cpu(), DType::f64);
  const std::vector<std::string> names{"embed_tokens.weight", "layers.0.self_attn.q_proj.weight",
                                       "layers.1.self_attn.k_proj.weight", "layers.0.mlp.down_proj.weight",
                                       "layers.1.post_attention_layernorm.weight", "norm.weight"};
  Tensor ids = random_ids({2, 5}, 9), targets = random_ids({2, 5}, 10);
  targets.set({1, 2}, -100);
  GradcheckResult r = module_gradcheck(model, names, [&] { return model.loss(ids, targets); });
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(Decoder, SgdLowersLossOnFixedBatch) {
  Decoder model(tiny_decoder_config(false));
  Generator gen(5);
  model.init_parameters(gen);
  Tensor ids = random_ids({4, 8}, 11), targets = random_ids({4, 8}, 12);
  double first = 0, last = 0;
  for (int step = 0; step < 30; ++step) {
    model.zero_grad();
    Variable loss = model.loss(ids, targets);
    loss.backward();
    (step == 0 ? first : last) = loss.data().item();
    for (Variable& p : model.parameters())
      p.set_data(kernels::binary_fwd(BinaryOp::sub, p.data(), kernels::unary_fwd(UnaryOp::affine, p.grad(), 1.0)));
  }
  EXPECT_NEAR(first, std::log(37.0), 0.05);  // near-uniform predictions at init
  EXPECT_LT(last, 0.5 * first);
}

TEST(Decoder, RecomputeGivesTheSameGradients) {
  ModelConfig opt = tiny_decoder_config();
  opt.dropout = 0.2;  // the replayed generator must reproduce the masks
  Decoder plain(opt);
  Decoder recomputed(opt);
  recomputed.set_recompute(true);
  Generator gen(6);
  plain.init_parameters(gen);
  copy_parameters(plain, recomputed);
  Tensor ids = random_ids({2, 6}, 13), targets = random_ids({2, 6}, 14);
  auto run = [&](Decoder& m) {
    default_generator().set_state(99, 0);
    Variable loss = m.loss(ids, targets);
    loss.backward();
    return loss.data().item();
  };
  EXPECT_EQ(run(plain), run(recomputed));
  for (auto& [name, v] : plain.named_parameters()) {
    ASSERT_TRUE(v.grad().defined()) << name;
    EXPECT_TRUE(all_close(recomputed.parameter(name).grad(), v.grad(), 1e-7, 1e-5)) << name;
  }
}

TEST(Decoder, DropoutOnlyInTrainingMode) {
  ModelConfig opt = tiny_decoder_config();
  opt.dropout = 0.5;
  Decoder model(opt);
  Generator gen(7);
  model.init_parameters(gen);
  Tensor ids = random_ids({1, 6}, 15);
  EXPECT_FALSE(all_close(model.forward(ids).data(), model.forward(ids).data(), 1e-6, 0));
  model.eval();
  EXPECT_TRUE(all_close(model.forward(ids).data(), model.forward(ids).data(), 0, 0));
}

TEST(Decoder, InitParameterStatistics) {
  ModelConfig opt = tiny_decoder_config();
  opt.hidden = 64;
  opt.ffn.hidden = 128;
  opt.layers = 8;
  opt.init_std = 0.1;
  Decoder model(opt);
  Generator gen(8);
  model.init_parameters(gen);
  auto rms = [](const Variable& v) {
    double s = 0;
    for (double x : v.data().to_vector()) s += x * x;
    return std::sqrt(s / double(v.numel()));
  };
  const double residual = 0.1 / std::sqrt(16.0);
  EXPECT_NEAR(rms(model.parameter("embed_tokens.weight")), 0.1, 0.01);
  EXPECT_NEAR(rms(model.parameter("layers.3.self_attn.q_proj.weight")), 0.1, 0.01);
  EXPECT_NEAR(rms(model.parameter("layers.3.mlp.gate_proj.weight")), 0.1, 0.01);
  EXPECT_NEAR(rms(model.parameter("layers.3.self_attn.o_proj.weight")), residual, 0.1 * residual);
  EXPECT_NEAR(rms(model.parameter("layers.7.mlp.down_proj.weight")), residual, 0.1 * residual);
  EXPECT_EQ(model.parameter("layers.2.input_layernorm.weight").data().to_vector(), std::vector<double>(64, 1.0));
  EXPECT_EQ(model.parameter("norm.weight").data().to_vector(), std::vector<double>(64, 1.0));
}

TEST(Decoder, FlopsPerTokenFormula) {
  Decoder tied(tiny_decoder_config(true)), untied(tiny_decoder_config(false));
  // Matmul weights: per layer q, o [16, 16], k, v [8, 16], 3 MLP [24, 16]; lm_head 37 x 16.
  const int64_t n = 2 * (2 * 256 + 2 * 128 + 3 * 384) + 37 * 16;
  EXPECT_EQ(tied.flops_per_token(10), 6 * n + 12 * 2 * 16 * 10);
  EXPECT_EQ(untied.flops_per_token(10), tied.flops_per_token(10));
  EXPECT_EQ(tied.flops_per_token(), 6 * n + 12 * 2 * 16 * 16);  // max_seq_len
}

// scale_embeddings multiplies the token embeddings by sqrt(hidden): the same as embeddings
// stored that much larger (an untied head, so the output projection is unchanged).
TEST(Decoder, ScaledEmbeddingsEqualLargerEmbeddings) {
  ModelConfig m = tiny_decoder_config(false);
  Decoder plain(m);
  Generator gen(9);
  plain.init_parameters(gen);
  m.scale_embeddings = true;
  Decoder scaled(m);
  copy_parameters(plain, scaled);
  const Tensor ids = random_ids({2, 5}, 31);
  EXPECT_FALSE(all_close(scaled.forward(ids).data(), plain.forward(ids).data(), 1e-3, 0));
  Tensor w = scaled.parameter("embed_tokens.weight").data();
  w.copy_(kernels::unary_fwd(UnaryOp::affine, w, 1.0 / 4.0));  // hidden 16
  EXPECT_TRUE(all_close(scaled.forward(ids).data(), plain.forward(ids).data(), 1e-6, 1e-6));
}

TEST(Decoder, InvalidOptionsThrow) {
  ModelConfig opt = tiny_decoder_config();
  opt.kv_heads = 3;
  EXPECT_THROW(Decoder{opt}, ConfigError);
  opt = tiny_decoder_config();
  opt.dropout = 1.0;
  EXPECT_THROW(Decoder{opt}, ConfigError);
  opt = tiny_decoder_config();
  opt.vocab_size = 0;
  EXPECT_THROW(Decoder{opt}, ConfigError);
}
