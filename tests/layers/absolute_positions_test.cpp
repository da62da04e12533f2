// fairseq's sinusoidal absolute positions (model.absolute_positions: sinusoidal, TransNormer v1's
// LM): the table against fairseq's formula (position p + 2 for row p, sin half then cos half,
// frequencies 10000^(-i/(half-1)), a zero column for odd widths), its growth past the first
// table, and a decoder that adds them after scaling the token embeddings (checked on a
// decoder whose blocks add nothing). Decoding with them is in decoding_test.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "layers/decoder.h"
#include "support/buildable_problem.h"
#include "support/testing.h"
#include "support/tiny_models.h"

using namespace linea;
using namespace linea::testing;

TEST(AbsolutePositions, SinusoidsAreFairseqsFromPositionTwo) {
  PositionTables tables;
  for (int64_t hidden : {8, 9}) {
    const Tensor t = tables.sinusoids(hidden, 5, Device::cpu(), DType::f64);
    ASSERT_GE(t.size(0), 5);
    ASSERT_EQ(t.size(1), hidden);
    const int64_t half = hidden / 2;
    for (int64_t p = 0; p < 5; ++p) {
      for (int64_t i = 0; i < half; ++i) {
        const double angle = double(p + 2) * std::pow(10000.0, -double(i) / double(half - 1));
        EXPECT_NEAR(t.at({p, i}), std::sin(angle), 1e-12) << p << " " << i;
        EXPECT_NEAR(t.at({p, half + i}), std::cos(angle), 1e-12) << p << " " << i;
      }
      if (hidden % 2) {
        EXPECT_EQ(t.at({p, hidden - 1}), 0.0);
      }
    }
  }
  // Growth keeps the rows it had.
  const Tensor small = tables.sinusoids(8, 5, Device::cpu(), DType::f64);
  const Tensor large = tables.sinusoids(8, 1000, Device::cpu(), DType::f64);
  ASSERT_GE(large.size(0), 1000);
  EXPECT_TRUE(all_close(large.narrow(0, 0, small.size(0)), small, 0, 0));
}

TEST(AbsolutePositions, DecoderAddsThemToTheScaledEmbeddings) {
  ModelConfig with = tiny_decoder_config(), without = tiny_decoder_config();
  for (ModelConfig* m : {&with, &without}) {
    m->attention.kind = AttentionKind::norm_linear;
    m->attention.positions = PositionKind::none;
    m->scale_embeddings = true;
  }
  with.absolute_positions = AbsolutePositions::sinusoidal;
  Decoder a(with), b(without);
  Generator gen(3);
  a.init_parameters(gen);
  a.to(Device::cpu(), DType::f64);
  b.to(Device::cpu(), DType::f64);
  for (auto& [n, v] : b.named_parameters()) v.set_data(a.parameter(n).data().clone());
  const Tensor ids = random_ids({2, 9}, 4);
  EXPECT_FALSE(all_close(a.forward(ids).data(), b.forward(ids).data(), 1e-6, 1e-6));
  // With every block's output projection at zero the residual stream is the input itself:
  // logits = RMSNorm(E[id] sqrt(d) + sinusoid(t)) Eᵀ (tied head, norm weight 1 at init).
  for (auto& [n, v] : a.named_parameters())
    if (n.find("out_proj") != std::string::npos || n.find("down_proj") != std::string::npos)
      v.set_data(Tensor::zeros(v.shape(), DType::f64));
  const int64_t d = with.hidden;
  const Tensor E = a.parameter("embed_tokens.weight").data();
  const Tensor table = PositionTables().sinusoids(d, 9, Device::cpu(), DType::f64);
  const Tensor logits = a.forward(ids).data();
  for (int64_t bt = 0; bt < 18; ++bt) {
    const int64_t b = bt / 9, t = bt % 9, id = int64_t(ids.at({b, t}));
    std::vector<double> x(static_cast<size_t>(d));
    double ss = 0;
    for (int64_t c = 0; c < d; ++c) {
      x[size_t(c)] = E.at({id, c}) * std::sqrt(double(d)) + table.at({t, c});
      ss += x[size_t(c)] * x[size_t(c)];
    }
    const double inv = 1.0 / std::sqrt(ss / double(d) + with.norm.eps);
    for (int64_t v = 0; v < with.vocab_size; ++v) {
      double want = 0;
      for (int64_t c = 0; c < d; ++c) want += x[size_t(c)] * inv * E.at({v, c});
      EXPECT_NEAR(logits.at({b, t, v}), want, 1e-10) << b << " " << t << " " << v;
    }
  }
}

TEST(AbsolutePositions, EncodersRefuseThem) {
  ModelConfig m = tiny_encoder_config();
  m.absolute_positions = AbsolutePositions::sinusoidal;
  EXPECT_NE(buildable_problem(m).find("model.absolute_positions: sinusoidal is for decoders"), std::string::npos);
}
