// Evaluation: a causal LM's mean token NLL over packed windows of a dataset, the sliding-window
// variant of `linea eval` for text longer than one window, and an encoder's MLM loss and accuracy.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "data/causal_dataset.h"
#include "data/mlm_dataset.h"
#include "data/token_shards.h"
#include "layers/causal_lm.h"
#include "layers/decoder.h"
#include "layers/encoder.h"

namespace linea {

struct RowScores;

struct EvalResult {
  int64_t tokens = 0;  // predicted tokens scored
  double mean_nll = 0;
  std::optional<double> accuracy;  // MLM: the fraction of masked tokens whose argmax is the original id
  // Decoders on shards with a /loss_mask (prepare --prompt-field or --synthetic): the fraction
  // of the scored targets whose argmax is the target.
  std::optional<double> target_accuracy;
  // Synthetic-task shards, where every window is one example: the mean over the examples (those
  // with a scored target) of each one's fraction of right targets, as Zoology's compute_metrics.
  std::optional<double> example_accuracy;
  int64_t examples = 0;
  bool partial = false;            // one rank's share of an evaluation sharded by EvalShard
  // Task metrics by name, in report order (fine-tuning: GLUE's accuracy, f1, matthews,
  // pearson, spearman per dev file, and the task score); empty for language modelling.
  std::vector<std::pair<std::string, double>> metrics;
  // False when mean_nll holds another loss (attention transfer's MSE): no perplexity then.
  bool language_model = true;
  double perplexity() const;  // exp(mean_nll); NaN when !language_model
  // Folds in one batch: its mean NLL over `scored` tokens and how many of them were right.
  void add_batch(double batch_mean_nll, int64_t scored, std::optional<int64_t> correct = std::nullopt);
  // Folds in one batch of windows with their target accuracy (and, when rows_are_examples,
  // each window with a scored target as one example).
  void add_rows(const RowScores& rows, bool rows_are_examples);
};

// One batch of windows scored by a causal LM: the mean NLL over the targets that are not
// kIgnoreTarget and, per window, how many of them there are and how many the argmax predicts.
struct RowScores {
  double mean_nll = 0;
  std::vector<int64_t> scored, correct;
  int64_t total_scored() const;
};
// inputs and targets [B, T] on the model's device.
RowScores score_rows(CausalLM& model, const Tensor& inputs, const Tensor& targets);

// " | accuracy 0.9123 | score 91.23" for the progress display; "" without metrics.
std::string format_eval_metrics(const EvalResult& r);
// The progress line of one evaluation: loss, then perplexity over tokens for language models
// (and MLM accuracy) or the task metrics over examples for classifiers.
std::string format_eval_line(int64_t step, const EvalResult& r);

// Puts a module in eval mode and restores its training flag when evaluation ends.
struct EvalModeGuard {
  explicit EvalModeGuard(Module& m) : m_(m), was_training_(m.is_training()) { m.eval(); }
  ~EvalModeGuard() { m_.train(was_training_); }
  Module& m_;
  bool was_training_;
};

// Which evaluation batches this rank scores: b = rank, rank + world, ... Results that are
// sums over examples (token NLL, correct counts) are then combined across ranks.
struct EvalShard {
  int rank = 0, world = 1;
};

// The first `max_batches` batches of `micro_batch` consecutive windows (all when 0); with
// target_accuracy (and example_accuracy) as evaluate_sliding on masked shards.
EvalResult evaluate_windows(CausalLM& model, const PackedCausalDataset& data, int64_t max_batches, int64_t micro_batch,
                            Device device, EvalShard shard = {});

// Every token of the shards after the first is scored once: windows of seq_len + 1 tokens
// start every `stride` tokens and score only the targets no earlier window scored (the
// Hugging Face strided-perplexity scheme; stride == seq_len gives disjoint windows). On
// shards with a /loss_mask only its targets count, and target_accuracy is set (with
// example_accuracy for synthetic-task shards, which need seq_len = stride = their example
// length: ConfigError otherwise).
EvalResult evaluate_sliding(CausalLM& model, const TokenShards& shards, int64_t seq_len, int64_t stride,
                            int64_t micro_batch, Device device);

// LoLCATs' attention-transfer loss (layers/attention_transfer.h), token-weighted over the
// first `max_batches` batches of `micro_batch` consecutive windows (all when 0).
EvalResult evaluate_transfer(Decoder& model, const PackedCausalDataset& data, double mse_factor, double xent_factor,
                             int64_t max_batches, int64_t micro_batch, Device device, EvalShard shard = {});

// MLM cross-entropy and accuracy over the masked tokens of the first `max_batches` batches
// of `micro_batch` consecutive examples (all when 0); masks from the dataset's own seed, epoch 0.
EvalResult evaluate_mlm(Encoder& model, const MlmDataset& data, int64_t max_batches, int64_t micro_batch,
                        EvalShard shard = {});

}  // namespace linea
