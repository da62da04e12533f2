// Fine-tuning on GLUE-format TSV files (data.objective: classification with a task: section):
// an Encoder with BERT's sequence-classification head, cross-entropy (classification) or MSE
// (regression, STS-B) per micro-batch, and the task's GLUE metrics on its dev file(s).
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "configs/config.h"
#include "data/glue_tsv.h"
#include "layers/sequence_classifier.h"
#include "train/checkpoint.h"
#include "train/objective.h"

namespace linea {

class TextTokenizer;

class GlueObjective : public TrainingObjective {
 public:
  // Reads and tokenizes task.data_dir's train and dev files with data.tokenizer (required, a
  // WordPiece vocab.txt) at data.seq_len. Errors name the recipe key: ConfigError for a missing
  // tokenizer, a vocabulary larger than model.vocab_size or fewer train examples than
  // train.batch_size; DataError (from the reader) for bad files.
  GlueObjective(const Config& c, Device device, DType dtype);
  ~GlueObjective() override;

  Module& model() override { return model_; }
  int64_t num_train_examples() const override { return train_->size(); }
  // Random init of everything (encoder as HF BERT, head normal(0, init_std) with zero
  // biases), then task.init_from's weights when set: see load_init_weights.
  void init_parameters(Generator& gen) override;
  // The trainer's epoch does not matter: fine-tuning batches carry no per-epoch randomness.
  MicroBatchLoss train_loss(const std::vector<int64_t>& indices, int64_t epoch) override;
  // Every dev file (its first max_batches batches; all when 0): mean loss per example
  // (tokens = examples scored), the task's metrics per file (prefixed "<file stem>." when the
  // task has several dev files, as MNLI), and "score", the mean of the score metrics x 100
  // over all dev files (mosaicbert.md 4.3).
  // Task metrics need every prediction, so every rank scores the whole dev set (the shard is ignored).
  EvalResult evaluate(int64_t max_batches, int64_t micro_batch, EvalShard shard) override;
  double flops_per_token() const override;
  std::string tokenizer_sha256() const override { return tokenizer_sha256_; }

  const GlueTask& task() const { return task_; }
  EncoderClassifier& classifier() { return model_; }
  const GlueDataset& train_data() const { return *train_; }
  // The rows the classifier's encoder computes on (unpadded as model.unpad says).
  EncoderRows rows_of(const GlueBatch& batch) const;
  // What init_parameters loaded from task.init_from (nullopt without one).
  const std::optional<WeightsLoadReport>& init_report() const { return init_report_; }

 private:
  Config config_;
  GlueTask task_;
  std::unique_ptr<TextTokenizer> tokenizer_;
  std::string tokenizer_sha256_;
  std::unique_ptr<GlueDataset> train_;
  std::vector<std::pair<std::string, std::unique_ptr<GlueDataset>>> dev_;  // (file stem, data)
  EncoderClassifier model_;
  Device device_;
  std::optional<WeightsLoadReport> init_report_;
};

// Loads a checkpoint's encoder weights into `model`, returning what was loaded and skipped:
// - a pretraining (MLM) checkpoint, names "embeddings.*", "layers.*": loaded under "encoder.",
//   its "mlm_head.*" ignored; the head keeps its fresh init;
// - a fine-tuned checkpoint (names "encoder.*", "head.*", e.g. MNLI's for RTE/MRPC/STS-B):
//   encoder and pooler loaded, "head.classifier.*" ignored (re-initialized, as MosaicBERT's
//   load_ignore_keys model.classifier*), so the label count may differ.
// CheckpointError when any encoder parameter is missing from the checkpoint (a checkpoint of
// another model; naming up to 5 of them) or has another shape. Unexpected tensors are only
// reported.
WeightsLoadReport load_init_weights(const std::string& path, EncoderClassifier& model);

}  // namespace linea
