// Attention transfer (layers/attention_transfer.h, LoLCATs stage 1): with the window covering
// every key the student is the teacher and the loss vanishes; only the feature maps and the
// window factors get gradients; teacher forcing makes each layer's loss independent of the
// maps of the layers before it; the loss is mse_factor times the mean of the layers' MSEs.
#include <gtest/gtest.h>

#include "autograd/ops/elementwise.h"
#include "layers/attention_transfer.h"
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
