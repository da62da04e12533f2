// Attention transfer (layers/attention_transfer.h, LoLCATs stage 1): with the window covering
// every key the student is the teacher and the loss vanishes; only the feature maps and the
// window factors get gradients; teacher forcing makes each layer's loss independent of the
// maps of the layers before it; the loss is mse_factor times the mean of the layers' MSEs,
// plus xent_factor times the mean of their attention-weight cross-entropies (tests below).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "autograd/ops/elementwise.h"
#include "autograd/ops/matmul.h"
#include "autograd/ops/views.h"
#include "layers/attention_transfer.h"
#include "layers/hedgehog_window_attention.h"
#include "support/module_gradcheck.h"
#include "support/testing.h"
#include "support/tiny_models.h"

using namespace linea;
using namespace linea::testing;

namespace {

ModelConfig student(int64_t window) {
  ModelConfig m = tiny_decoder_config();
  m.layers = 3;
  m.init_std = 0.3;
  m.attention.kind = AttentionKind::hedgehog_window;
  m.attention.window_layout = WindowLayout::sliding;
  m.attention.window = window;
  m.attention.feature_dim = 3;
  return m;
}

Decoder& init(Decoder& model, uint64_t seed) {
  Generator gen(seed);
  model.init_parameters(gen);
  model.to(Device::cpu(), DType::f64);
  return model;
}

}  // namespace

TEST(AttentionTransfer, VanishesWhenTheWindowCoversEveryKey) {
  Decoder model(student(16));
  init(model, 1);
  const TransferLoss t = attention_transfer_loss(model, random_ids({2, 12}, 2), 1000.0);
  ASSERT_EQ(t.layer_mse.size(), 3u);
  EXPECT_LT(t.loss.data().item(), 1e-24);
  Decoder narrow(student(2));
  init(narrow, 1);
  EXPECT_GT(attention_transfer_loss(narrow, random_ids({2, 12}, 2), 1000.0).loss.data().item(), 1e-6);
}

TEST(AttentionTransfer, OnlyMapsAndWindowFactorsLearnAndLayersAreIndependent) {
  Decoder model(student(3));
  init(model, 3);
  const Tensor ids = random_ids({2, 11}, 4);
  TransferLoss t = attention_transfer_loss(model, ids, 10.0);
  double mean = 0;
  for (double v : t.layer_mse) mean += v / 3;
  EXPECT_NEAR(t.loss.data().item(), 10.0 * mean, 1e-12 * t.loss.data().item());
  t.loss.backward();
  for (const auto& [n, p] : model.named_parameters()) {
    const bool learns = n.find("feature_map") != std::string::npos || n.find("window_factors") != std::string::npos;
    double g = 0;
    if (p.grad().defined())
      for (double v : p.grad().to_vector()) g += std::abs(v);
    if (learns)
      EXPECT_GT(g, 0) << n;
    else
      EXPECT_EQ(g, 0) << n;
  }
  // Teacher forcing: layer 1 and 2 see the teacher's stream whatever layer 0's maps are.
  model.parameter("layers.0.self_attn.feature_map_q.mlp.layer").set_data(random_tensor({4, 4, 3}, 9));
  const TransferLoss moved = attention_transfer_loss(model, ids, 10.0);
  EXPECT_NE(moved.layer_mse[0], t.layer_mse[0]);
  EXPECT_EQ(moved.layer_mse[1], t.layer_mse[1]);
  EXPECT_EQ(moved.layer_mse[2], t.layer_mse[2]);
}

// The cross-entropy term (xent_factor > 0). The student's explicit weights (the T x T form of
// spec §1.4) times v are the hybrid kernel's output, for both layouts, pure linear attention
// and a window past every key (1e-12, f64); each layer's CE equals the renormalised cross-entropy
// written out here from those weights and the teacher's softmax (1e-12); with the window over
// every key the student's rows are the teacher's and CE is the teacher's entropy (the clamped
// future entries add at most T·1e-12); the loss adds xent_factor times the layers' mean CE; and
// its gradient reaches the feature maps and window factors correctly (gradcheck).
namespace {

ModelConfig xent_student(int64_t window, WindowLayout layout) {
  ModelConfig m = student(window);
  m.attention.window_layout = layout;
  return m;
}

// The renormalised cross-entropy of spec §2 from plain loops: rows r of A (student) and A*
// (teacher's causal softmax of scale·q·k), p = max(A, 1e-12), mean_r log Σ_k p − Σ_j A* log p.
double xent_by_loops(const Tensor& A, const Tensor& q, const Tensor& k) {
  const int64_t B = A.size(0), H = A.size(1), T = A.size(2), D = q.size(3);
  const std::vector<double> a = A.to_vector(), qv = q.to_vector(), kv = k.to_vector();
  double total = 0;
  for (int64_t bh = 0; bh < B * H; ++bh)
    for (int64_t i = 0; i < T; ++i) {
      std::vector<double> s(size_t(i + 1));
      double m = -1e300, z = 0, norm = 0, dot = 0;
      for (int64_t j = 0; j <= i; ++j) {
        double x = 0;
        for (int64_t d = 0; d < D; ++d) x += qv[size_t((bh * T + i) * D + d)] * kv[size_t((bh * T + j) * D + d)];
        s[size_t(j)] = x / std::sqrt(double(D));
        m = std::max(m, s[size_t(j)]);
      }
      for (int64_t j = 0; j <= i; ++j) z += std::exp(s[size_t(j)] - m);
      for (int64_t j = 0; j < T; ++j) {
        const double p = std::max(a[size_t((bh * T + i) * T + j)], 1e-12);
        norm += p;
        if (j <= i) dot += std::exp(s[size_t(j)] - m) / z * std::log(p);
      }
      total += std::log(norm) - dot;
    }
  return total / double(B * H * T);
}

// Layer 0's hybrid mixer on the embeddings of ids (what teacher forcing hands it).
struct FirstLayer {
  FirstLayer(Decoder& model, const Tensor& ids)
      : mixer(dynamic_cast<const HedgehogWindowAttention&>(model.layers()[0].mixer())) {
    ctx.B = ids.size(0);
    ctx.T = ids.size(1);
    ctx.positions = &model.position_tables();
    heads = mixer.heads(model.layers()[0].mixer_norm().forward(reshape(model.embed_tokens().forward(ids),
                                                                       {ctx.B * ctx.T, model.config().hidden})),
                        ctx);
  }
  Tensor weights() const { return mixer.weights(heads, ctx).data(); }
  const HedgehogWindowAttention& mixer;
  SequenceContext ctx;
  HedgehogWindowAttention::Heads heads;
};

}  // namespace

TEST(AttentionTransfer, StudentWeightsTimesValuesAreTheHybridOutput) {
  for (WindowLayout layout : {WindowLayout::sliding, WindowLayout::terrace})
    for (int64_t window : {0, 2, 5, 16}) {
      Decoder model(xent_student(window, layout));
      init(model, 5);
      const auto& mixer = dynamic_cast<const HedgehogWindowAttention&>(model.layers()[0].mixer());
      SequenceContext ctx;
      ctx.B = 2;
      ctx.T = 11;
      ctx.positions = &model.position_tables();
      const Variable x(random_tensor({ctx.B * ctx.T, model.config().hidden}, 6).to(DType::f64));
      const HedgehogWindowAttention::Heads h = mixer.heads(x, ctx);
      const Tensor w = mixer.weights(h, ctx).data();
      EXPECT_TRUE(all_close(matmul(Variable(w), h.v).data(), mixer.attend(h, ctx).data(), 1e-12, 1e-12))
          << "window " << window << (layout == WindowLayout::terrace ? " terrace" : " sliding");
    }
}

TEST(AttentionTransfer, CrossEntropyTermIsTheRenormalisedCrossEntropy) {
  Decoder model(xent_student(3, WindowLayout::terrace));
  init(model, 7);
  const Tensor ids = random_ids({2, 10}, 8);
  const TransferLoss only_mse = attention_transfer_loss(model, ids, 10.0);
  const TransferLoss t = attention_transfer_loss(model, ids, 10.0, 0.5);
  ASSERT_EQ(t.layer_xent.size(), 3u);
  EXPECT_TRUE(only_mse.layer_xent.empty());
  double mean = 0;
  for (double v : t.layer_xent) mean += v / 3;
  EXPECT_NEAR(t.loss.data().item(), only_mse.loss.data().item() + 0.5 * mean, 1e-12 * t.loss.data().item());
  // Layer 0 by loops, from its weights and the teacher's scores over the same q, k.
  NoGradGuard no_grad;
  const FirstLayer first(model, ids);
  EXPECT_NEAR(t.layer_xent[0], xent_by_loops(first.weights(), first.heads.q.data(), first.heads.k.data()), 1e-12);
}

TEST(AttentionTransfer, CrossEntropyIsTheTeachersEntropyWhenTheWindowCoversEveryKey) {
  Decoder model(xent_student(16, WindowLayout::sliding));
  init(model, 9);
  const Tensor ids = random_ids({2, 12}, 10);
  const TransferLoss t = attention_transfer_loss(model, ids, 0.0, 1.0);
  EXPECT_LT(t.layer_mse[0], 1e-24);
  // The student's rows are the teacher's: CE = −Σ A* log A* (plus log(1 + (T−1−i)·1e-12)).
  NoGradGuard no_grad;
  const Tensor w = FirstLayer(model, ids).weights();
  double entropy = 0;
  for (double v : w.to_vector())
    if (v > 0) entropy -= v * std::log(v);
  EXPECT_NEAR(t.layer_xent[0], entropy / double(w.numel() / w.size(2)), 1e-10);
}

TEST(AttentionTransfer, CrossEntropyTermGradcheck) {
  for (WindowLayout layout : {WindowLayout::sliding, WindowLayout::terrace}) {
    ModelConfig m = xent_student(3, layout);
    m.layers = 1;
    m.attention.affine_factors = true;  // λ = 1 − γ: θ reaches both terms
    Decoder model(m);
    init(model, 11);
    const Tensor ids = random_ids({1, 7}, 12);
    const GradcheckResult r = module_gradcheck(
        model,
        {"layers.0.self_attn.feature_map_q.mlp.layer", "layers.0.self_attn.feature_map_k.mlp.layer",
         "layers.0.self_attn.window_factors"},
        [&] { return attention_transfer_loss(model, ids, 0.0, 1.0).loss; });
    EXPECT_TRUE(r.ok) << r.message;
  }
}
