// Evaluation on shards with a loss mask (prepare --synthetic): only the scored targets count in
// the NLL, target_accuracy is the argmax hit rate over them and example_accuracy the mean of
// each example's rate (Zoology's compute_metrics). Checked by hand numbers for the folding, and
// on mqar shards with an oracle model that answers the queries whose value is even: `linea
// eval`'s sliding windows and the trainer's packed windows must both give the exact NLL and
// accuracies computed here from the generator's examples.
#include "train/evaluate.h"

#include <gtest/gtest.h>

#include <cmath>

#include "data/synthetic_shards.h"
#include "support/temp_dir.h"

using namespace linea;
using linea::testing::TempDir;

namespace {

constexpr int64_t kV = 256, kL = 64, kP = 4;
constexpr double kLogit = 10.0;

// Predicts, after a key seen again past the pairs, that key's value (logit kLogit, 0 elsewhere),
// but only when the value is even; elsewhere all logits are 0.
class EvenValueOracle : public CausalLM {
 public:
  Variable forward(const Tensor& ids) override {
    const int64_t B = ids.shape()[0], T = ids.shape()[1];
    std::vector<double> logits(static_cast<size_t>(B * T * kV), 0.0);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 2 * kP; t < T; ++t)
        for (int64_t i = 0; i < kP; ++i) {
          const double value = ids.at({b, 2 * i + 1});
          if (ids.at({b, t}) == ids.at({b, 2 * i}) && int64_t(value) % 2 == 0)
            logits[size_t((b * T + t) * kV + int64_t(value))] = kLogit;
        }
    return Variable(Tensor::from_vector(logits, {B, T, kV}, DType::f32));
  }
  int64_t vocab_size() const override { return kV; }
  int64_t max_seq_len() const override { return kL; }
  int64_t flops_per_token(int64_t) const override { return 0; }
  DecodingState new_decoding_state(int64_t) const override { throw InternalError("not a decoder"); }
  Variable decode(const Tensor&, DecodingState&, const std::vector<int64_t>&) override {
    throw InternalError("not a decoder");
  }
};

}  // namespace

TEST(ScoredAccuracy, TargetsAreFoldedByTokenAndExamplesByExample) {
  EvalResult r;
  RowScores first;
  first.mean_nll = 1.0;
  first.scored = {4, 2, 0};
  first.correct = {4, 1, 0};
  r.add_rows(first, true);
  EXPECT_EQ(r.tokens, 6);
  EXPECT_DOUBLE_EQ(*r.target_accuracy, 5.0 / 6.0);
  EXPECT_DOUBLE_EQ(*r.example_accuracy, (1.0 + 0.5) / 2.0);  // the row without targets is no example
  EXPECT_EQ(r.examples, 2);
  RowScores second;
  second.mean_nll = 4.0;
  second.scored = {2};
  second.correct = {0};
  r.add_rows(second, true);
  EXPECT_DOUBLE_EQ(r.mean_nll, (6 * 1.0 + 2 * 4.0) / 8.0);
  EXPECT_DOUBLE_EQ(*r.target_accuracy, 5.0 / 8.0);
  EXPECT_DOUBLE_EQ(*r.example_accuracy, 1.5 / 3.0);
  EvalResult windows;
  windows.add_rows(first, false);
  EXPECT_FALSE(windows.example_accuracy.has_value());
  EXPECT_DOUBLE_EQ(*windows.target_accuracy, 5.0 / 6.0);
}

TEST(ScoredAccuracy, SlidingAndPackedWindowsScoreExactlyTheAnswers) {
  TempDir dir;
  SyntheticShardOptions o;
  o.task.vocab_size = kV;
  o.task.seq_len = kL;
  o.task.pairs = kP;
  o.task.seed = 5;
  o.examples = 40;
  o.output_dir = dir.file("mqar");
  write_synthetic_shards(o);

  // The oracle's logit row is kLogit at its guess c (or all 0): NLL of target y is
  // log(e^kLogit + V - 1) - kLogit [y = c] with a guess, log V without.
  const double with_guess = std::log(std::exp(kLogit) + double(kV - 1)), without = std::log(double(kV));
  double nll = 0;
  int64_t right = 0;
  for (int64_t n = 0; n < o.examples; ++n) {
    const SyntheticExample e = synthetic_example(o.task, n);
    for (int64_t p = 0; p < kL; ++p)
      if (e.scored[size_t(p)]) {
        const bool even = e.tokens[size_t(p)] % 2 == 0;
        right += even;
        nll += even ? with_guess - kLogit : without;
      }
  }
  const int64_t answers = o.examples * kP;
  ASSERT_GT(right, 20);
  ASSERT_LT(right, answers - 20);

  EvenValueOracle model;
  const TokenShards shards(o.output_dir);
  const EvalResult sliding = evaluate_sliding(model, shards, kL, kL, 7, Device::cpu());
  const EvalResult packed = evaluate_windows(model, PackedCausalDataset(shards, kL), 0, 7, Device::cpu());
  for (const EvalResult& r : {sliding, packed}) {
    EXPECT_EQ(r.tokens, answers);
    EXPECT_NEAR(r.mean_nll, nll / double(answers), 1e-5);
    ASSERT_TRUE(r.target_accuracy.has_value());
    EXPECT_NEAR(*r.target_accuracy, double(right) / double(answers), 1e-12);
    ASSERT_TRUE(r.example_accuracy.has_value());
    EXPECT_NEAR(*r.example_accuracy, double(right) / double(answers), 1e-12);  // P answers per example
    EXPECT_EQ(r.examples, o.examples);
  }
}
