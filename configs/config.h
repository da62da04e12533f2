// Config: the typed form of a YAML recipe, its loading with `base:` inheritance
// and `--set` overrides, validation, dumping back to YAML and model-config diffs.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/device.h"
#include "layers/model_config.h"
#include "optim/schedule_kind.h"

namespace linea {

enum class Objective : uint8_t { causal, mlm, classification, attention_transfer };
enum class OptimKind : uint8_t { adamw, decoupled_adamw, sgd, muon };
enum class Precision : uint8_t { fp32, bf16 };
enum class DistBackend : uint8_t { automatic /* "auto" */, mpi, nccl };

// The YAML spelling of each value ("swiglu", "simple_rmsnorm", "auto", ...).
const char* to_string(ModelKind v);
const char* to_string(FfnKind v);
const char* to_string(Activation v);
const char* to_string(NormKind v);
const char* to_string(NormPosition v);
const char* to_string(AbsolutePositions v);
const char* to_string(AttentionKind v);
const char* to_string(PositionKind v);
const char* to_string(BlockScores v);
const char* to_string(WindowLayout v);
const char* to_string(KdaDecay v);
const char* to_string(OutputGateRank v);
const char* to_string(OutputGateActivation v);
const char* to_string(FeatureMapKind v);
const char* to_string(Objective v);
const char* to_string(OptimKind v);
const char* to_string(Precision v);
const char* to_string(DistBackend v);

// Masked-LM examples (objective: mlm), as HF's DataCollatorForLanguageModeling.
struct MlmConfig {
  double mask_ratio = 0.30;       // training selection probability per non-special token
  double eval_mask_ratio = 0.15;  // validation and `linea eval` (MosaicBERT evaluates at 15%)
  bool whole_word = false;        // select whole words (a token and its ## continuations)
  bool per_document = true;       // one document per example, truncated; false packs the token stream
};

struct DataConfig {
  std::string train = "data/train";  // folder of HDF5 shards from `linea prepare`
  std::string valid = "data/valid";
  int64_t seq_len = 256;  // > 0 and <= model.max_seq_len
  Objective objective = Objective::causal;
  std::optional<std::string> tokenizer;  // tokenizer model path; null / absent: the shards' own
  // causal: no loss on predicting a document's first token from the previous document.
  bool mask_document_boundaries = false;
  MlmConfig mlm;
};

struct OptimConfig {
  // adamw: torch's AdamW (p -= lr_t * weight_decay * p); decoupled_adamw: Composer's
  // DecoupledAdamW (p -= (lr_t / lr) * weight_decay * p, the decay not scaled by the peak lr).
  OptimKind kind = OptimKind::adamw;
  double lr = 1e-3;                         // peak learning rate, >= 0
  std::array<double, 2> betas = {0.9, 0.95};  // adamw; each in [0, 1)
  double eps = 1e-8;                        // adamw, > 0
  double weight_decay = 0.1;                // >= 0; decoupled for adamw
  double grad_clip = 1.0;                   // global grad-norm limit; 0 disables clipping
  double momentum = 0.9;                    // sgd, in [0, 1)
  // Parameters that get no weight decay: a parameter is excluded when any pattern is a
  // substring of its dotted name ("layers.0.input_layernorm.weight" matches "norm").
  std::vector<std::string> no_decay = {"norm", "bias", "embed_tokens"};
  // muon (Moonlight's recipe): the 2-D weights; AdamW (betas, eps above) for the rest and for
  // any matrix whose name contains one of adamw_params.
  double muon_momentum = 0.95;
  bool muon_nesterov = true;
  int64_t muon_ns_steps = 5;
  std::vector<std::string> adamw_params = {"embed_tokens", "lm_head", "mlp.gate.weight"};
};

struct ScheduleConfig {
  ScheduleKind kind = ScheduleKind::cosine;  // optim's own enum (optim/schedule_kind.h)
  int64_t warmup_steps = 0;   // linear warmup from 0 to lr (every kind)
  double min_lr_ratio = 0.1;  // floor of the decay as a fraction of lr, in [0, 1]
  int64_t decay_steps = 0;    // wsd: length of the final decay, <= train.steps
  int64_t plateau_patience = 3;  // plateau: evaluations without improvement before a cut, >= 1
  double plateau_factor = 0.5;   // plateau: lr multiplier per cut, in (0, 1)
};
const char* to_string(ScheduleKind v);

struct TrainConfig {
  int64_t steps = 1000;            // optimizer steps, >= 0
  int64_t batch_size = 16;         // global sequences per optimizer step
  int64_t micro_batch_size = 16;   // per rank per forward; must divide batch_size
  int64_t log_every = 10;          // >= 1
  int64_t eval_every = 200;        // 0: never
  int64_t eval_batches = 20;       // >= 0
  int64_t ckpt_every = 500;        // 0: only at the end
  int64_t keep_checkpoints = 3;    // >= 2 (validation raises 1 to 2)
  Precision precision = Precision::fp32;
  Device device = Device::cpu();   // YAML: cpu | cuda | cuda:N
  int64_t threads = 0;             // 0 = all cores
  bool recompute = false;          // re-run each block's forward in backward: less memory, ~1/3 more compute
  // A linea checkpoint (e.g. one `linea import` wrote) whose model weights replace the random
  // init of a new run; parameters it lacks keep their init, tensors the model lacks are an error.
  std::optional<std::string> init_from;
  std::vector<std::string> trainable;  // globs; empty: every parameter trains
  bool keep_best = false;              // keep checkpoints/best.h5 (lowest validation loss)
  // > 0: stop (checkpointing) after the first evaluation whose example accuracy exceeds it,
  // Zoology's rule for synthetic tasks (test accuracy > 0.99); 0: run train.steps. A stopped
  // run that is resumed trains on to its next evaluation (nothing records the stop).
  double stop_at_accuracy = 0;
};

// LoLCATs' attention transfer (data.objective: attention_transfer), specs/lolcats.md §2.
struct TransferConfig {
  double mse_factor = 1000.0;  // x element-mean MSE of per-head outputs, averaged over layers
  double xent_factor = 0.0;    // attention-weight cross-entropy (layers/attention_transfer.h)
};

struct DistConfig {
  DistBackend backend = DistBackend::automatic;  // auto: NCCL on GPUs, MPI on CPUs
  double bucket_mb = 25.0;                       // gradient all-reduce bucket size, > 0
  bool shard_optimizer = false;                  // ZeRO-1: the optimizer state partitioned across ranks
  double timeout_s = 300.0;                      // a collective waiting longer ends the job, > 0
};

// Fine-tuning on GLUE-format TSV files (data.objective: classification, which needs this
// section and an encoder). The task's layout, labels, files and metrics are GLUE's own for the
// named task; data.seq_len is the padded length ([CLS] a [SEP] b [SEP]) and data.tokenizer the
// WordPiece vocab.txt; data.train and data.valid are not used.
struct TaskConfig {
  std::string name = "sst2";  // cola | sst2 | mrpc | qqp | qnli | rte | mnli | stsb
  std::string data_dir;       // folder holding the task's train.tsv and dev file(s)
  // A linea checkpoint to start from: a pretraining (MLM) checkpoint, whose encoder weights
  // are loaded and MLM head dropped, or a fine-tuned one (e.g. MNLI's), whose encoder and
  // pooler are loaded and classifier re-initialized. null: train from a random init.
  std::optional<std::string> init_from;
  double classifier_dropout = 0.1;  // after the pooler's tanh (BERT's hidden_dropout_prob)
  // Pad each batch to its longest row instead of data.seq_len (the same logits: padding is
  // masked; only the padded path's work changes).
  bool pad_to_longest = true;
};
// The GLUE task names task.name accepts (data/glue_tsv.h glue_task_names; kept equal by a test).
const std::vector<std::string>& config_glue_task_names();

struct Config {
  int64_t seed = 1234;
  ModelConfig model;
  DataConfig data;
  OptimConfig optim;
  ScheduleConfig schedule;
  TrainConfig train;
  DistConfig dist;
  TransferConfig transfer;
  std::optional<TaskConfig> task;  // YAML: a map, or null / absent when not fine-tuning
};

// Key-by-key equality over the whole schema (every key dump_config writes).
bool operator==(const ModelConfig& a, const ModelConfig& b);
bool operator==(const Config& a, const Config& b);
inline bool operator!=(const ModelConfig& a, const ModelConfig& b) { return !(a == b); }
inline bool operator!=(const Config& a, const Config& b) { return !(a == b); }

// Reads the recipe at `path`, resolving `base:` chains (paths relative to the including
// file; maps merge deeply, the child wins, lists replace) and then applying each override
// "a.b.c=value" (value parsed as YAML, so "[0.9, 0.99]" and "{kind: mlp}" work).
// Problems throw one ConfigError with a line "<file>:<line>:<col>: <key>: <what>" per
// problem: every unknown key, wrong value and failed rule (the first 20, then "(N more not
// shown)"); malformed YAML and `base:` or `--set` problems stop at the first. Values that
// were adjusted rather than refused (a warmup longer than a short run) append one located
// line each to `warnings`.
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {},
                   std::vector<std::string>* warnings = nullptr);
// Parses and validates a complete recipe held in memory (for example the one stored in a
// checkpoint); `source_name` stands for the file in messages, and a `base:` in the text is
// resolved relative to source_name's folder.
Config parse_config(const std::string& yaml_text, const std::string& source_name,
                    std::vector<std::string>* warnings = nullptr);
// The config as YAML with every key, in schema order; parse_config(dump_config(c)) == c.
std::string dump_config(const Config& config);
// The model's layers, consecutive equal ones together: "layers 1-2: softmax rope window 8 |
// swiglu 64" (token mixer, its positions and window; channel mixer, its activation when
// glu, its width), for `linea info` and dry runs.
std::vector<std::string> layout_summary(const ModelConfig& m);
// One line per differing key, "model.hidden: 256 vs 512" (a's value first), in schema order.
std::vector<std::string> model_config_diff(const ModelConfig& a, const ModelConfig& b);

}  // namespace linea
