// SequenceClassifier (BERT's pooler + classifier, mosaicbert.md 1.9): forward against a
// hand-computed reference, gradcheck w.r.t. its input and parameters (f64), dropout only in
// training; EncoderClassifier: [CLS]-only logits, no MLM head, parameter names.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/ops/cross_entropy.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "data/unpad.h"
#include "layers/sequence_classifier.h"
#include "support/module_gradcheck.h"
#include "support/testing.h"
#include "support/tiny_models.h"

using namespace linea;
using namespace linea::testing;

TEST(SequenceClassifier, ForwardIsClassifierOfTanhPooler) {
  SequenceClassifier head(4, 3, 0.0);
  Generator gen(5);
  head.init_parameters(gen, 0.5);
  Tensor(head.parameter("pooler.bias").data()).copy_(random_tensor({4}, 8).to(DType::f32));
  Tensor(head.parameter("classifier.bias").data()).copy_(random_tensor({3}, 9).to(DType::f32));
  Tensor x = random_tensor({2, 4}, 6).to(DType::f32);
  head.eval();
  Tensor y = head.forward(Variable(x)).data();
  ASSERT_EQ(y.shape(), (Shape{2, 3}));
  const Tensor Wp = head.parameter("pooler.weight").data(), bp = head.parameter("pooler.bias").data();
  const Tensor Wc = head.parameter("classifier.weight").data(), bc = head.parameter("classifier.bias").data();
  for (int64_t r = 0; r < 2; ++r) {
    double pooled[4];
    for (int64_t i = 0; i < 4; ++i) {
      double s = bp.at({i});
      for (int64_t k = 0; k < 4; ++k) s += x.at({r, k}) * Wp.at({i, k});
      pooled[i] = std::tanh(s);
    }
    for (int64_t o = 0; o < 3; ++o) {
      double s = bc.at({o});
      for (int64_t i = 0; i < 4; ++i) s += pooled[i] * Wc.at({o, i});
      EXPECT_NEAR(y.at({r, o}), s, 1e-5);
    }
  }
}

TEST(SequenceClassifier, InitIsNormalWeightsAndZeroBiases) {
  SequenceClassifier head(64, 2, 0.1);
  Generator gen(1);
  head.init_parameters(gen, 0.02);
  for (const char* b : {"pooler.bias", "classifier.bias"})
    for (double v : head.parameter(b).data().to_vector()) EXPECT_EQ(v, 0.0) << b;
  const std::vector<double> w = head.parameter("pooler.weight").data().to_vector();
  double ss = 0;
  for (double v : w) ss += v * v;
  EXPECT_NEAR(std::sqrt(ss / double(w.size())), 0.02, 0.002);  // 4096 draws: std within ~2%
}

TEST(SequenceClassifier, GradchecksWrtInputAndParameters) {
  SequenceClassifier head(5, 3, 0.0);
  Generator gen(3);
  head.init_parameters(gen, 0.6);
  head.to(Device::cpu(), DType::f64);
  auto fn = [&](const std::vector<Variable>& in) { return head.forward(in[0]); };
  LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_tensor({4, 5}, 4, -1, 1).to(DType::f64)}));
  Tensor x = random_tensor({4, 5}, 6, -1, 1).to(DType::f64);
  GradcheckResult r =
      module_gradcheck(head, {"pooler.weight", "pooler.bias", "classifier.weight", "classifier.bias"}, [&] {
        return cross_entropy(head.forward(Variable(x)), Tensor::from_vector({0, 2, 1, 2}, {4}, DType::i64));
      });
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(SequenceClassifier, DropoutOnlyWhileTraining) {
  SequenceClassifier head(32, 2, 0.5);
  Generator gen(2);
  head.init_parameters(gen, 0.3);
  Tensor x = random_tensor({3, 32}, 1).to(DType::f32);
  head.eval();
  Tensor a = head.forward(Variable(x)).data(), b = head.forward(Variable(x)).data();
  EXPECT_TRUE(all_close(a, b, 0, 0));
  head.train();
  Tensor c = head.forward(Variable(x)).data();
  EXPECT_FALSE(all_close(a, c, 1e-6, 0));
}

TEST(SequenceClassifier, RejectsBadShapes) {
  expect_error<ConfigError>([] { SequenceClassifier(8, 0, 0.1); }, "num_labels must be positive");
  expect_error<ConfigError>([] { SequenceClassifier(8, 2, 1.0); }, "dropout must be in [0, 1)");
}

TEST(EncoderClassifier, LogitsComeFromTheClsTokenOnly) {
  EncoderClassifier model(tiny_encoder_config(), 3, 0.0);
  for (const auto& [name, p] : model.named_parameters()) EXPECT_EQ(name.find("mlm_head"), std::string::npos) << name;
  EXPECT_NO_THROW(model.parameter("encoder.embeddings.word_embeddings.weight"));
  EXPECT_NO_THROW(model.parameter("head.pooler.weight"));
  EXPECT_NO_THROW(model.parameter("head.classifier.bias"));
  Generator gen(4);
  model.init_parameters(gen, 0);
  // Rows of 4 and 3 real tokens; the logits equal the head on Encoder::forward at b * T.
  EncoderBatch batch;
  batch.input_ids = Tensor::from_vector({1, 5, 9, 13, 2, 1, 7, 0}, {2, 4}, DType::i64);
  batch.attention_mask = Tensor::from_vector({1, 1, 1, 1, 1, 1, 1, 0}, {2, 4}, DType::u8);
  Tensor logits = model.forward(encoder_rows(batch, true)).data();
  ASSERT_EQ(logits.shape(), (Shape{2, 3}));
  Tensor expect = model.head().forward(model.encoder().forward(encoder_rows(batch, true), {0, 4})).data();
  EXPECT_TRUE(all_close(logits, expect, 0, 0));
  // Changing a non-[CLS] token changes the [CLS] state through attention.
  batch.input_ids = Tensor::from_vector({1, 5, 9, 14, 2, 1, 7, 0}, {2, 4}, DType::i64);
  Tensor changed = model.forward(encoder_rows(batch, true)).data();
  EXPECT_FALSE(all_close(logits.narrow(0, 0, 1), changed.narrow(0, 0, 1), 1e-7, 0));
  EXPECT_TRUE(all_close(logits.narrow(0, 1, 1), changed.narrow(0, 1, 1), 1e-6, 0));
  expect_error<ConfigError>([&] { model.encoder().mlm(encoder_rows(batch, true), Tensor::zeros({2, 4}, DType::i64)); },
                            "without its MLM head");
}
