// The causal-LM and masked-LM objectives and the checks both make on their shards.
#include "train/objective.h"

#include <filesystem>

#include "autograd/ops/elementwise.h"
#include "data/causal_dataset.h"
#include "data/mlm_dataset.h"
#include "data/sha256.h"
#include "data/unpad.h"
#include "data/wordpiece_tokenizer.h"
#include "layers/attention_transfer.h"
#include "layers/decoder.h"
#include "layers/encoder.h"
#include "train/glue_objective.h"
#include "train/model_builder.h"

namespace linea {
namespace {

// Opens a recipe's shard folder; errors name the recipe key they came from and, for a
// relative path, the folder it resolved to from the working directory.
TokenShards open_shards(const char* key, const std::string& dir) {
  try {
    return TokenShards(dir);
  } catch (const DataError& e) {
    const std::filesystem::path p(dir);
    const std::string where =
        p.is_absolute() ? "" : str_cat(" (", dir, " resolved to ", std::filesystem::absolute(p).lexically_normal().string(), ")");
    throw DataError(str_cat(key, where, ": ", e.what()));
  }
}

}  // namespace

Variable TrainingObjective::MicroBatchLoss::total() const {
  Variable sum = loss;
  for (const auto& [name, term] : aux_losses) sum = sum + term;
  return sum;
}

void check_vocab(const std::string& key, const TokenShards& shards, const ModelConfig& m) {
  const int64_t v = shards.vocab_size(), padded = (v + 127) / 128 * 128;
  if (m.vocab_size < v || m.vocab_size > padded)
    throw ConfigError(str_cat(key, ": shards in ", shards.dir(), " use a vocabulary of ", v,
                              " tokens (tokenizer ", shards.tokenizer().empty() ? "?" : shards.tokenizer(),
                              "), model.vocab_size is ", m.vocab_size, "; expected ", v,
                              " (or padded up to at most ", padded, ")"));
}

namespace {

// Train and valid shards must come from one tokenizer, and from the recipe's data.tokenizer
// when it names one (compared by the model file's sha256).
void check_tokenizers(const DataConfig& d, const TokenShards& train, const TokenShards& valid) {
  auto name = [](const TokenShards& s) {
    return str_cat(s.tokenizer().empty() ? "?" : s.tokenizer(), " (sha256 ", s.tokenizer_sha256().substr(0, 12), ")");
  };
  if (train.tokenizer_sha256() != valid.tokenizer_sha256())
    throw DataError(str_cat("data.valid: shards in ", valid.dir(), " were prepared with tokenizer ", name(valid),
                            ", the training shards with ", name(train), "; expected the same tokenizer"));
  if (!d.tokenizer) return;
  std::string sha;
  try {
    sha = sha256_file(*d.tokenizer);
  } catch (const DataError& e) {
    throw DataError(str_cat("data.tokenizer: ", e.what()));
  }
  if (sha != train.tokenizer_sha256())
    throw DataError(str_cat("data.tokenizer: ", *d.tokenizer, " (sha256 ", sha.substr(0, 12),
                            ") is not the tokenizer the shards in ", train.dir(), " were prepared with: ", name(train)));
}

// Both splits opened and checked (vocabulary fits the model, one tokenizer).
struct ShardPair {
  TokenShards train, valid;
};
ShardPair open_checked(const Config& c) {
  ShardPair s{open_shards("data.train", c.data.train), open_shards("data.valid", c.data.valid)};
  check_vocab("data.train", s.train, c.model);
  check_vocab("data.valid", s.valid, c.model);
  check_tokenizers(c.data, s.train, s.valid);
  return s;
}

void check_batch(const char* what, int64_t examples, const Config& c) {
  LINEA_CHECK_T(ConfigError, examples >= c.train.batch_size, "data.train: ", examples, " ", what,
                " are fewer than one batch of train.batch_size ", c.train.batch_size);
}

class CausalLmObjective : public TrainingObjective {
 public:
  CausalLmObjective(const Config& c, ShardPair s, Device device, DType dtype)
      : train_(std::move(s.train), c.data.seq_len, c.data.mask_document_boundaries),
        valid_(std::move(s.valid), c.data.seq_len, c.data.mask_document_boundaries),
        model_(c.model, device, dtype),
        device_(device),
        seq_len_(c.data.seq_len) {
    model_.set_recompute(c.train.recompute);
    check_batch(str_cat("windows of seq_len ", c.data.seq_len).c_str(), train_.num_examples(), c);
  }
  Module& model() override { return model_; }
  int64_t num_train_examples() const override { return train_.num_examples(); }
  void init_parameters(Generator& gen) override { model_.init_parameters(gen); }
  MicroBatchLoss train_loss(const std::vector<int64_t>& indices, int64_t) override {
    CausalBatch batch = train_.get_batch(indices);
    MicroBatchLoss r{model_.loss(batch.inputs.to(device_), batch.targets.to(device_)), batch.inputs.numel(), {}, {}};
    model_.report(r.aux_losses, r.metrics);  // MoE layers: balance loss and router load
    return r;
  }
  EvalResult evaluate(int64_t max_batches, int64_t micro_batch, EvalShard shard) override {
    return evaluate_windows(model_, valid_, max_batches, micro_batch, device_, shard);
  }
  double flops_per_token() const override { return double(model_.flops_per_token(seq_len_)); }
  std::string tokenizer_sha256() const override { return train_.shards().tokenizer_sha256(); }
  // evaluate_windows scores examples when the shards are a synthetic task's (masked answers,
  // one example per window).
  bool reports_example_accuracy() const override {
    return valid_.shards().has_loss_mask() && valid_.shards().example_tokens() > 0;
  }

 protected:
  PackedCausalDataset train_, valid_;
  Decoder model_;
  Device device_;
  int64_t seq_len_;
};

// LoLCATs stage 1 on the same packed windows as causal LM training: the loss is the
// teacher-forced attention-transfer loss (layers/attention_transfer.h), not the LM's.
class AttentionTransferObjective : public CausalLmObjective {
 public:
  AttentionTransferObjective(const Config& c, ShardPair s, Device device, DType dtype)
      : CausalLmObjective(c, std::move(s), device, dtype),
        mse_factor_(c.transfer.mse_factor),
        xent_factor_(c.transfer.xent_factor) {}
  MicroBatchLoss train_loss(const std::vector<int64_t>& indices, int64_t) override {
    CausalBatch batch = train_.get_batch(indices);
    TransferLoss t = attention_transfer_loss(model_, batch.inputs.to(device_), mse_factor_, xent_factor_);
    MicroBatchLoss r{t.loss, batch.inputs.numel(), {}, {}};
    for (size_t i = 0; i < t.layer_mse.size(); ++i) r.metrics.emplace_back(str_cat("mse_layer_", i), t.layer_mse[i]);
    for (size_t i = 0; i < t.layer_xent.size(); ++i) r.metrics.emplace_back(str_cat("xent_layer_", i), t.layer_xent[i]);
    return r;
  }
  EvalResult evaluate(int64_t max_batches, int64_t micro_batch, EvalShard shard) override {
    return evaluate_transfer(model_, valid_, mse_factor_, xent_factor_, max_batches, micro_batch, device_, shard);
  }
  bool reports_example_accuracy() const override { return false; }  // the transfer loss only
  // The teacher's forward (no backward) plus the student maps' forward and backward: about a
  // third of a training step's 6 N per token, as the model's count gives it.
  double flops_per_token() const override { return CausalLmObjective::flops_per_token() / 3.0; }

 private:
  double mse_factor_, xent_factor_;
};

// Validation examples differ from training ones only in mask ratio and mask stream.
MlmOptions validation_options(MlmOptions o, const Config& c) {
  o.mask_ratio = c.data.mlm.eval_mask_ratio;
  o.seed = uint64_t(c.seed) ^ kValidMaskStream;
  return o;
}

class MaskedLmObjective : public TrainingObjective {
 public:
  MaskedLmObjective(const Config& c, ShardPair s, Device device, DType dtype)
      : MaskedLmObjective(c, s, device, dtype, mlm_options(c, s.train, c.data.mlm.mask_ratio, uint64_t(c.seed))) {}

  // `train` holds the vocabulary's special ids, read once for both splits.
  MaskedLmObjective(const Config& c, const ShardPair& s, Device device, DType dtype, const MlmOptions& train)
      : train_(s.train, train),
        valid_(s.valid, validation_options(train, c)),
        model_(c.model, device, dtype),
        seq_len_(c.data.seq_len),
        mask_ratio_(c.data.mlm.mask_ratio) {
    model_.set_recompute(c.train.recompute);
    check_batch("MLM examples", train_.num_examples(), c);
  }
  Module& model() override { return model_; }
  int64_t num_train_examples() const override { return train_.num_examples(); }
  void init_parameters(Generator& gen) override { model_.init_parameters(gen, train_.options().pad_id); }
  MicroBatchLoss train_loss(const std::vector<int64_t>& indices, int64_t epoch) override {
    MlmBatch batch = train_.get_batch(indices, epoch);
    int64_t tokens = 0;
    for (double m : batch.attention_mask.to_vector()) tokens += m != 0;
    const EncoderRows rows = encoder_rows({batch.input_ids, batch.attention_mask, Tensor()}, model_.config().unpad);
    Encoder::MlmOutput out = model_.mlm(rows, batch.labels);
    return {out.loss, tokens, {}, {}};
  }
  EvalResult evaluate(int64_t max_batches, int64_t micro_batch, EvalShard shard) override {
    return evaluate_mlm(model_, valid_, max_batches, micro_batch, shard);
  }
  // Attention over seq_len keys is an upper bound (documents may be shorter); the head runs
  // on the masked fraction.
  double flops_per_token() const override { return model_.flops_per_token(seq_len_, mask_ratio_); }
  std::string tokenizer_sha256() const override { return train_.shards().tokenizer_sha256(); }

 private:
  MlmDataset train_, valid_;
  Encoder model_;
  int64_t seq_len_;
  double mask_ratio_;
};

}  // namespace

MlmOptions mlm_options(const Config& c, const TokenShards& shards, double ratio, uint64_t seed) {
  const std::string path = c.data.tokenizer ? *c.data.tokenizer : shards.tokenizer();
  LINEA_CHECK_T(ConfigError, !path.empty(), "data.objective: mlm needs the WordPiece vocabulary the shards in ",
                shards.dir(), " were prepared with; they do not name one, expected data.tokenizer");
  WordPieceTokenizer tok = [&] {
    try {
      return WordPieceTokenizer::load(path);
    } catch (const DataError& e) {
      throw DataError(str_cat("data.objective: mlm needs a BERT WordPiece vocab.txt ([CLS] [SEP] [MASK] [PAD]): ",
                              e.what()));
    }
  }();
  MlmOptions o;
  o.mask_ratio = ratio;
  o.seq_len = c.data.seq_len;
  o.seed = seed;
  o.cls_id = tok.cls_id();
  o.sep_id = tok.sep_id();
  o.pad_id = tok.pad_id();
  o.mask_id = tok.mask_id();
  if (tok.unk_id() >= 0) o.extra_special_ids.push_back(tok.unk_id());
  int64_t last_special = 0;
  for (int64_t id : {o.cls_id, o.sep_id, o.pad_id, o.mask_id, int64_t(tok.unk_id())}) last_special = std::max(last_special, id);
  o.first_normal_id = last_special + 1;
  o.whole_word = c.data.mlm.whole_word;
  if (o.whole_word) o.is_continuation = tok.continuation_mask();
  o.per_document = c.data.mlm.per_document;
  return o;
}

std::unique_ptr<TrainingObjective> make_objective(const Config& c, Device device, DType dtype) {
  check_buildable(c);
  // Fine-tuning reads TSV files, not shards (validation ensured an encoder and a task: section).
  if (c.data.objective == Objective::classification) return std::make_unique<GlueObjective>(c, device, dtype);
  ShardPair shards = open_checked(c);
  if (c.data.objective == Objective::mlm) return std::make_unique<MaskedLmObjective>(c, std::move(shards), device, dtype);
  if (c.data.objective == Objective::attention_transfer)
    return std::make_unique<AttentionTransferObjective>(c, std::move(shards), device, dtype);
  return std::make_unique<CausalLmObjective>(c, std::move(shards), device, dtype);
}

}  // namespace linea
