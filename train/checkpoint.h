// Checkpoints in HDF5, readable by h5py without linea (docs/architecture.md): /model/<param>,
// /optim/<param>/<state> with /optim attributes kind and step, /trainer attributes, and
// root attributes format_version, linea_version, config_yaml, world_size. Written to a
// temporary file, fsynced and renamed, so a crash never leaves a half checkpoint. Every
// tensor and attribute carries a checksum checked on every read (core/io/hdf5_file.h).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/io/hdf5_file.h"
#include "layers/module.h"
#include "optim/optimizer.h"

namespace linea {

constexpr int64_t kCheckpointFormatVersion = 1;

// Everything besides model and optimizer that a resumed run needs to continue exactly.
struct TrainerState {
  int64_t step = 0;         // optimizer steps completed
  int64_t tokens_seen = 0;  // training tokens consumed (global)
  uint64_t rng_seed = 0, rng_offset = 0;
  int64_t sampler_epoch = 0, sampler_cursor = 0;
  std::vector<double> schedule_state;
  std::string tokenizer_sha256;  // of the tokenizer the training data came from ("" if unknown)
  // The example accuracy whose evaluation ended the run at this step (train.stop_at_accuracy),
  // so a resume knows the run is done; 0 when it did not stop on accuracy here.
  double stopped_at_accuracy = 0;
};

// An optimizer's full state as stored under /optim: its kind ("adamw", "sgd"), the steps
// taken and per-parameter tensors. ZeRO-1 runs gather theirs from every rank's shard, so a
// checkpoint never depends on the world size that wrote it.
struct OptimizerSnapshot {
  std::string kind;
  int64_t step = 0;
  OptimizerState state;
};
// A collective when the optimizer is sharded (Optimizer::gather_state): every rank calls it.
OptimizerSnapshot snapshot_of(const Optimizer& optimizer, Communicator& comm);

// A tokenizer file carried inside a checkpoint (/tokenizer: its bytes as a u8 dataset, with
// attributes kind and file_name), so that generation and export need nothing beside it.
// `linea import` stores the Hugging Face folder's tokenizer this way.
struct StoredTokenizer {
  std::string kind;       // "sentencepiece", "bpe" or "wordpiece" (TextTokenizer::kind)
  std::string file_name;  // as it was named: tokenizer.model, tokenizer.json, vocab.txt
  std::string bytes;
};

void save_checkpoint(const std::string& path, const Module& model, const OptimizerSnapshot* optimizer,
                     const TrainerState& state, const std::string& config_yaml, int world_size,
                     const StoredTokenizer* tokenizer = nullptr);

// The checkpoint's stored tokenizer; nullopt when it carries none.
std::optional<StoredTokenizer> read_checkpoint_tokenizer(const std::string& path);

// The /optim state of a checkpoint; CheckpointError when it has none or it is for another
// kind than `expected_kind`.
OptimizerSnapshot read_optimizer_snapshot(const std::string& path, const std::string& expected_kind);

// The resolved recipe stored in a checkpoint (CheckpointError for a foreign file).
std::string read_checkpoint_config(const std::string& path);

// Loads parameters into `model` (names and shapes must match: CheckpointError names the
// first difference), and, when given, the optimizer state (a sharded optimizer takes its
// slices of it) and trainer state.
void load_checkpoint(const std::string& path, Module& model, Optimizer* optimizer, TrainerState* state);

// A non-strict, weights-only load (fine-tuning from a pretraining checkpoint, as Composer's
// load_strict_model_weights=False): checkpoint tensor `from + rest` goes into model parameter
// `to + rest` for the first rename rule whose `from` prefixes it (no rule: the same name).
// Checkpoint tensors matching an `ignore` glob (over checkpoint names, Module::freeze's glob)
// are skipped. Shapes must match (CheckpointError naming the tensor); the rest is reported.
struct WeightRename {
  std::string from, to;
};
struct WeightsLoadReport {
  std::vector<std::string> loaded;      // model parameter names that were filled
  std::vector<std::string> missing;     // model parameters the checkpoint did not provide
  std::vector<std::string> unexpected;  // checkpoint tensors no model parameter takes
  std::vector<std::string> ignored;     // checkpoint tensors skipped by an `ignore` glob
};
WeightsLoadReport load_model_weights(const std::string& path, Module& model, const std::vector<WeightRename>& rename,
                                     const std::vector<std::string>& ignore = {});
// The names of the model tensors a checkpoint stores.
std::vector<std::string> checkpoint_tensor_names(const std::string& path);

// One row per stored tensor for `linea info`: name, dtype, shape.
struct CheckpointTensorInfo {
  std::string name;
  Shape shape;
};
struct CheckpointInfo {
  int64_t format_version = 0, world_size = 0;
  std::string linea_version, config_yaml, optimizer_kind;
  TrainerState trainer;
  std::vector<CheckpointTensorInfo> model_tensors;
};
CheckpointInfo inspect_checkpoint(const std::string& path);

// Reads a checkpoint completely (H5File::verify: every checksum, every attribute) and checks
// that it is a linea checkpoint; `damaged` lists what is not intact (`linea info --verify`,
// `--resume auto`).
H5File::VerifyReport verify_checkpoint(const std::string& path);

}  // namespace linea
