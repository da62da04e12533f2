// Decoding with caches: a prefill of prompts of different lengths followed by one token at a
// time gives the logits of one full forward at every position, for every token mixer kind
// (global softmax with RoPE, ALiBi or no positions; sliding windows below and above the
// length; grouped-query heads; a mixed layout; lightning, norm_linear (also with v1's
// sinusoidal absolute positions) and diag_block;
// LoLCATs' hedgehog_window (sliding layout, T2R, pure linear); KDA, GDN and the no-delta
// baseline, alone and beside softmax; a post-norm model). f32 throughout: the step
// path scores keys with matmul + softmax, the full forward with the fused kernel, so they
// agree to rounding (|diff| <= 2e-5 + 2e-5 |logit|, logits of order 1), not bit for bit.
#include <gtest/gtest.h>

#include <cmath>

#include "layers/decoder.h"
#include "support/testing.h"
#include "support/tiny_models.h"

using namespace linea;
using namespace linea::testing;

namespace {

struct Variant {
  const char* name;
  void (*apply)(ModelConfig&);
};

const Variant kVariants[] = {
    {"rope", [](ModelConfig&) {}},
    {"alibi", [](ModelConfig& m) { m.attention.positions = PositionKind::alibi; }},
    {"no_positions", [](ModelConfig& m) { m.attention.positions = PositionKind::none; }},
    {"window_3", [](ModelConfig& m) { m.attention.window = 3; }},
    {"window_4_alibi", [](ModelConfig& m) {
       m.attention.window = 4;
       m.attention.positions = PositionKind::alibi;
     }},
    {"window_above_T", [](ModelConfig& m) { m.attention.window = 40; }},
    {"mha", [](ModelConfig& m) { m.kv_heads = m.heads; }},
    {"mixed_layout", [](ModelConfig& m) {
       m.layers = 3;
       LayerGroup first{1, m.attention, {FfnKind::glu, 20, Activation::gelu}, {}};
       LayerGroup rest{0, m.attention, m.ffn, {}};
       rest.pattern = {LayerSpec{m.attention, m.ffn}, LayerSpec{m.attention, m.ffn}};
       rest.pattern[0].attention.window = 2;
       m.layout = {first, rest};
     }},
    {"lightning", [](ModelConfig& m) {
       m.attention.kind = AttentionKind::lightning;
       m.attention.positions = PositionKind::none;
       m.norm = {NormKind::simple_rmsnorm, 1e-6, NormPosition::pre};
       m.ffn.kind = FfnKind::sglu;
     }},
    {"lightning_lrpe_first_layer", [](ModelConfig& m) {
       AttentionConfig lightning = m.attention;
       lightning.kind = AttentionKind::lightning;
       lightning.positions = PositionKind::none;
       AttentionConfig with_lrpe = lightning;
       with_lrpe.positions = PositionKind::lrpe;
       m.layout = {LayerGroup{1, with_lrpe, m.ffn, {}}, LayerGroup{0, lightning, m.ffn, {}}};
     }},
    {"lightning_softmax_hybrid", [](ModelConfig& m) {
       m.layers = 3;
       AttentionConfig lightning = m.attention;
       lightning.kind = AttentionKind::lightning;
       lightning.positions = PositionKind::none;
       lightning.feature_map = Activation::none;
       m.layout = {LayerGroup{0, m.attention, m.ffn, {}}};
       m.layout[0].pattern = {LayerSpec{lightning, m.ffn}, LayerSpec{lightning, m.ffn}, LayerSpec{m.attention, m.ffn}};
     }},
    {"norm_linear_elu", [](ModelConfig& m) {
       m.attention.kind = AttentionKind::norm_linear;
       m.attention.positions = PositionKind::none;
       m.attention.feature_map = Activation::elu;
     }},
    {"norm_linear_lrpe", [](ModelConfig& m) {
       m.attention.kind = AttentionKind::norm_linear;
       m.attention.positions = PositionKind::lrpe;
       m.attention.feature_map = Activation::elu_plus_one;
     }},
    // TransNormer v1's LM input: embeddings times sqrt(d) plus fairseq's sinusoids, whose
    // steps must continue at each sequence's own position.
    {"norm_linear_sinusoidal_positions", [](ModelConfig& m) {
       m.attention.kind = AttentionKind::norm_linear;
       m.attention.positions = PositionKind::none;
       m.attention.feature_map = Activation::elu_plus_one;
       m.scale_embeddings = true;
       m.absolute_positions = AbsolutePositions::sinusoidal;
     }},
    // Blocks of 4: prompts of 5, 1 and 9 tokens and the steps after them cross block borders.
    {"diag_block_softmax", [](ModelConfig& m) {
       m.attention.kind = AttentionKind::diag_block;
       m.attention.positions = PositionKind::none;
       m.attention.block = 4;
     }},
    {"transnormer_v1_layout_urpe", [](ModelConfig& m) {
       AttentionConfig diag = m.attention;
       diag.kind = AttentionKind::diag_block;
       diag.positions = PositionKind::urpe;
       diag.block = 4;
       diag.scores = BlockScores::relu;
       AttentionConfig norm = diag;
       norm.kind = AttentionKind::norm_linear;
       norm.feature_map = Activation::elu;
       m.layout = {LayerGroup{1, diag, m.ffn, {}}, LayerGroup{1, norm, m.ffn, {}}};
     }},
    // LoLCATs' hybrid: decoding is a sliding window of w keys plus the linear state.
    {"hedgehog_sliding_window_3", [](ModelConfig& m) {
       m.attention.kind = AttentionKind::hedgehog_window;
       m.attention.window_layout = WindowLayout::sliding;
       m.attention.window = 3;
       m.attention.feature_dim = 3;
     }},
    {"hedgehog_t2r_affine_window_2", [](ModelConfig& m) {
       m.attention.kind = AttentionKind::hedgehog_window;
       m.attention.window_layout = WindowLayout::sliding;
       m.attention.window = 2;
       m.attention.feature_kind = FeatureMapKind::t2r;
       m.attention.feature_dim = 4;
       m.attention.affine_factors = true;
     }},
    {"hedgehog_pure_linear", [](ModelConfig& m) {
       m.attention.kind = AttentionKind::hedgehog_window;
       m.attention.window = 0;
       m.attention.feature_dim = 2;
     }},
    // Kimi Delta Attention: the conv caches and the delta-rule state; grouped value heads with
    // V != K; Gated DeltaNet's per-head decay and full-rank swish gate; the no-delta baseline
    // without conv or gate; and a KDA + NoPE softmax layout.
    {"kda_grouped_values", [](ModelConfig& m) {
       m.attention.kind = AttentionKind::kda;
       m.attention.positions = PositionKind::none;
       m.attention.kda.value_heads = 8;
       m.attention.kda.value_dim = 3;
       m.attention.kda.gate_rank = 2;
       m.attention.kda.chunk = 16;
     }},
    {"kda_gated_deltanet", [](ModelConfig& m) {
       m.attention.kind = AttentionKind::kda;
       m.attention.positions = PositionKind::none;
       m.attention.kda.decay = KdaDecay::per_head;
       m.attention.kda.output_gate = {OutputGateRank::full, OutputGateActivation::swish};
       m.attention.kda.conv_size = 2;
     }},
    {"kda_no_delta_no_conv", [](ModelConfig& m) {
       m.attention.kind = AttentionKind::kda;
       m.attention.positions = PositionKind::none;
       m.attention.kda.delta_rule = false;
       m.attention.kda.conv_size = 0;
       m.attention.kda.output_gate.rank = OutputGateRank::none;
     }},
    {"kda_softmax_layout", [](ModelConfig& m) {
       m.attention.positions = PositionKind::none;
       AttentionConfig kda = m.attention;
       kda.kind = AttentionKind::kda;
       m.layout = {LayerGroup{1, kda, m.ffn, {}}, LayerGroup{1, m.attention, m.ffn, {}}};
     }},
    // Kimi's MLA (NoPE) decodes from its latent cache with kv_b_proj absorbed; and the Kimi
    // hybrid's pattern of KDA layers before an MLA layer.
    {"mla_latent_cache", [](ModelConfig& m) {
       m.attention.kind = AttentionKind::mla;
       m.attention.positions = PositionKind::none;
       m.attention.mla = {6, 4, 2, 3};
     }},
    {"kda_mla_layout", [](ModelConfig& m) {
       m.attention.positions = PositionKind::none;
       AttentionConfig kda = m.attention, mla = m.attention;
       kda.kind = AttentionKind::kda;
       mla.kind = AttentionKind::mla;
       mla.mla = {5, 3, 2, 4};
       m.layout = {LayerGroup{1, kda, m.ffn, {}}, LayerGroup{1, mla, m.ffn, {}}};
     }},
    {"post_norm_simple_rms", [](ModelConfig& m) {
       m.norm = {NormKind::simple_rmsnorm, 1e-6, NormPosition::post};
       m.ffn.kind = FfnKind::sglu;
     }},
};

class Decoding : public ::testing::TestWithParam<Variant> {};

TEST_P(Decoding, PrefillThenStepsMatchTheFullForward) {
  ModelConfig m = tiny_decoder_config();
  m.init_std = 0.3;  // attention far from uniform
  GetParam().apply(m);
  Decoder model(m);
  Generator gen(21);
  model.init_parameters(gen);
  model.eval();
  const int64_t B = 3, T = 13;
  const std::vector<int64_t> prompt = {5, 1, 9};
  Tensor ids = random_ids({B, T}, 22);
  NoGradGuard no_grad;
  const Tensor full = model.forward(ids).data();  // [B, T, V]
  auto expect_rows = [&](const Tensor& got, int64_t b, int64_t pos, const std::string& what) {
    EXPECT_TRUE(all_close(got, full.select(0, b).select(0, pos), 2e-5, 2e-5)) << what << " row " << b << " position " << pos;
  };
  // Each row's padding past its prompt holds other tokens: the prefill must ignore them.
  DecodingState state = model.new_decoding_state(B);
  const Tensor prefill = model.decode(ids, state, prompt).data();
  for (int64_t b = 0; b < B; ++b) {
    EXPECT_EQ(state.length(b), prompt[size_t(b)]);
    for (int64_t t = 0; t < prompt[size_t(b)]; ++t) expect_rows(prefill.select(0, b).select(0, t), b, t, "prefill");
  }
  // Then every row advances one token per step until the shortest prompt reaches T.
  for (int64_t s = 0; s + 9 < T; ++s) {
    std::vector<double> next(static_cast<size_t>(B));
    for (int64_t b = 0; b < B; ++b) next[size_t(b)] = ids.at({b, prompt[size_t(b)] + s});
    const Tensor step = model.decode(Tensor::from_vector(next, {B, 1}, DType::i64), state).data();
    ASSERT_EQ(step.shape(), (Shape{B, 1, m.vocab_size}));
    for (int64_t b = 0; b < B; ++b) expect_rows(step.select(0, b).select(0, 0), b, prompt[size_t(b)] + s, "step");
  }
}

TEST_P(Decoding, UnbatchedPromptMatchesToo) {
  ModelConfig m = tiny_decoder_config();
  m.init_std = 0.3;
  GetParam().apply(m);
  Decoder model(m);
  Generator gen(23);
  model.init_parameters(gen);
  model.eval();
  Tensor ids = random_ids({1, 10}, 24);
  NoGradGuard no_grad;
  const Tensor full = model.forward(ids).data();
  DecodingState state = model.new_decoding_state(1);
  EXPECT_TRUE(all_close(model.decode(ids.narrow(1, 0, 4).contiguous(), state).data(), full.narrow(1, 0, 4), 2e-5, 2e-5));
  for (int64_t t = 4; t < 10; ++t)
    EXPECT_TRUE(all_close(model.decode(ids.narrow(1, t, 1).contiguous(), state).data(), full.narrow(1, t, 1), 2e-5, 2e-5))
        << t;
}

INSTANTIATE_TEST_SUITE_P(EveryMixer, Decoding, ::testing::ValuesIn(kVariants),
                         [](const ::testing::TestParamInfo<Variant>& info) { return std::string(info.param.name); });

}  // namespace

TEST(DecodingErrors, StepsTakeOneTokenAndGradientsAreOff) {
  Decoder model(tiny_decoder_config());
  Tensor ids = random_ids({2, 4}, 25);
  DecodingState state = model.new_decoding_state(2);
  EXPECT_THROW(model.decode(ids, state), Error);  // gradients on
  NoGradGuard no_grad;
  model.decode(ids, state);
  EXPECT_THROW(model.decode(ids, state), Error);  // 4 tokens after the prefill
  EXPECT_THROW(model.decode(random_ids({3, 1}, 26), state), Error);  // 3 sequences, state of 2
}
