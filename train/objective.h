// TrainingObjective: what a training run optimizes — a model, its train and validation examples and
// how a micro-batch of examples becomes a loss — so one trainer loop (schedule, accumulation,
// clipping, checkpoints, logging) serves causal LMs (Decoder) and masked LMs (Encoder).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/variable.h"
#include "configs/config.h"
#include "core/rng.h"
#include "data/mlm_dataset.h"
#include "layers/module.h"
#include "train/evaluate.h"

namespace linea {

class TrainingObjective {
 public:
  virtual ~TrainingObjective() = default;
  virtual Module& model() = 0;
  virtual int64_t num_train_examples() const = 0;
  // Fresh parameters from `gen` (a checkpoint may overwrite them afterwards).
  virtual void init_parameters(Generator& gen) = 0;

  // Named values are averaged over a step's micro-batches and the ranks and logged with
  // the step; every micro-batch on every rank reports the same names in the same order.
  struct MicroBatchLoss {
    Variable loss;       // the objective's mean loss of the micro-batch (logged as "loss")
    int64_t tokens = 0;  // real (non-padding) input tokens processed
    // Extra scalar terms, already weighted (an MoE load-balance loss): backward runs on
    // total(), and each is logged on its own under "aux_losses".
    std::vector<std::pair<std::string, Variable>> aux_losses;
    // Statistics of the micro-batch (an MoE router's load), logged under "metrics".
    std::vector<std::pair<std::string, double>> metrics;
    // What backward runs on: loss plus every aux loss (loss itself when there are none).
    Variable total() const;
  };
  // Training examples `indices`; `epoch` keys per-epoch randomness such as dynamic MLM masks.
  virtual MicroBatchLoss train_loss(const std::vector<int64_t>& indices, int64_t epoch) = 0;
  // The validation split: the first `max_batches` batches of `micro_batch` examples. Results
  // that are sums over examples (causal, MLM) score only the shard's batches and come back
  // `partial` for the caller to combine; others (GLUE metrics) score every batch on every rank.
  virtual EvalResult evaluate(int64_t max_batches, int64_t micro_batch, EvalShard shard) = 0;
  // Training FLOPs per real token (for MFU).
  virtual double flops_per_token() const = 0;
  // sha256 of the tokenizer file the examples were tokenized with (stored in checkpoints so a
  // resume on data from another tokenizer is refused).
  virtual std::string tokenizer_sha256() const = 0;
  // Whether evaluate() reports an example accuracy (validation shards of a synthetic task),
  // which train.stop_at_accuracy reads.
  virtual bool reports_example_accuracy() const { return false; }
};

// The shards' tokenizer ids must be the model's embedding rows: model.vocab_size is the
// shards' vocabulary V, or V padded up to at most the next multiple of 128 (padding rows are
// never targets; MosaicBERT pads 30522 to 30528). ConfigError naming `key` otherwise: a
// model much larger than its tokenizer trains silently on a fraction of its embeddings.
void check_vocab(const std::string& key, const TokenShards& shards, const ModelConfig& m);

// MLM examples for recipe `c` over `shards`: seq_len, whole-word and per-document modes from
// the recipe, BERT's special ids from the WordPiece vocabulary (data.tokenizer, else the one
// the shards were prepared with), the given mask ratio and seed.
MlmOptions mlm_options(const Config& c, const TokenShards& shards, double mask_ratio, uint64_t seed);
// Validation masks come from their own stream so they never change with training progress.
constexpr uint64_t kValidMaskStream = 0x5851F42D4C957F2Dull;

// The objective the recipe names (data.objective with model.kind), its shards opened and
// checked against the model and each other; errors name the recipe key.
std::unique_ptr<TrainingObjective> make_objective(const Config& config, Device device, DType dtype);

}  // namespace linea
