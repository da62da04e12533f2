// Long generation (kimi_linear spec §9.5: one KDA port turned repetitive after ~400 decoded
// tokens): a short prefill then 2,043 single-token steps of a Kimi-style KDA + MLA hybrid
// keep giving the logits of one chunked forward over all 2,048 tokens (32 chunks of 64), in
// f64 so that any drift of the recurrent state, the conv caches or the latent cache shows
// far above rounding. The tolerance, 1e-9 relative to the logits' scale, is loose for f64
// (one step's rounding is ~1e-15) but a state carried wrongly through a chunk or a cache
// boundary moves logits by >= 1e-4.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "layers/decoder.h"
#include "support/testing.h"
#include "support/tiny_models.h"

using namespace linea;
using namespace linea::testing;

namespace {

ModelConfig kimi_style(bool gated_deltanet) {
  ModelConfig m = tiny_decoder_config();
  m.init_std = 0.3;
  m.max_seq_len = 2048;
  m.attention.positions = PositionKind::none;
  AttentionConfig kda = m.attention, mla = m.attention;
  kda.kind = AttentionKind::kda;
  if (gated_deltanet) kda.kda.decay = KdaDecay::per_head;
  mla.kind = AttentionKind::mla;
  mla.mla = {5, 3, 2, 4};
  m.layers = 4;
  m.layout = {LayerGroup{0, kda, m.ffn, {}}};
  m.layout[0].pattern = {LayerSpec{kda, m.ffn}, LayerSpec{kda, m.ffn}, LayerSpec{kda, m.ffn}, LayerSpec{mla, m.ffn}};
  return m;
}

void expect_long_decoding_matches(const ModelConfig& m) {
  Decoder model(m, Device::cpu(), DType::f64);
  Generator gen(31);
  model.init_parameters(gen);
  model.eval();
  const int64_t T = 2048, prompt = 5;
  const Tensor ids = random_ids({1, T}, 32);
  NoGradGuard no_grad;
  const Tensor full = model.forward(ids).data();  // [1, T, V]
  double scale = 0;
  for (double v : full.to_vector()) {
    ASSERT_TRUE(std::isfinite(v));
    scale = std::max(scale, std::abs(v));
  }
  const double tol = 1e-9 * std::max(1.0, scale);
  DecodingState state = model.new_decoding_state(1);
  const Tensor pre = model.decode(ids.narrow(1, 0, prompt).contiguous(), state).data();
  ASSERT_TRUE(all_close(pre, full.narrow(1, 0, prompt), tol, 0.0));
  double worst = 0;
  int64_t worst_at = -1;
  for (int64_t t = prompt; t < T; ++t) {
    const std::vector<double> got = model.decode(ids.narrow(1, t, 1).contiguous(), state).data().to_vector();
    const std::vector<double> want = full.narrow(1, t, 1).contiguous().to_vector();
    for (size_t i = 0; i < got.size(); ++i) {
      const double d = std::abs(got[i] - want[i]);
      if (!(d <= worst)) worst = d, worst_at = t;  // NaN too
    }
  }
  EXPECT_TRUE(worst <= tol) << "worst logit difference " << worst << " at position " << worst_at;
  EXPECT_EQ(state.length(0), T);
}

TEST(LongDecoding, KdaMlaHybridStaysOnTheChunkedForwardFor2048Tokens) { expect_long_decoding_matches(kimi_style(false)); }

TEST(LongDecoding, GatedDeltaNetHybridStaysOnTheChunkedForwardFor2048Tokens) {
  expect_long_decoding_matches(kimi_style(true));
}

}  // namespace
