// GlueObjective: fine-tuning an Encoder with a sequence-classification head on GLUE TSV files.
#include "train/glue_objective.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "autograd/ops/cross_entropy.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "data/sha256.h"
#include "data/text_tokenizer.h"
#include "data/unpad.h"
#include "train/glue_metrics.h"

namespace linea {
namespace {

std::unique_ptr<TextTokenizer> task_tokenizer(const Config& c) {
  LINEA_CHECK_T(ConfigError, c.data.tokenizer.has_value() && !c.data.tokenizer->empty(),
                "data.tokenizer: fine-tuning (data.objective: classification) reads raw text, expected the "
                "WordPiece vocab.txt the encoder was pretrained with");
  // A leading "~/" is the user's home, so recipes can name the vocab.txt setup fetched into
  // ~/.cache/linea/npm without an absolute path.
  std::string spec = *c.data.tokenizer;
  const char* home = std::getenv("HOME");
  if (spec.rfind("~/", 0) == 0 && home) spec = std::string(home) + spec.substr(1);
  std::unique_ptr<TextTokenizer> tok;
  try {
    tok = load_tokenizer(spec);
  } catch (const Error& e) {
    throw ConfigError(str_cat("data.tokenizer: ", e.what()));
  }
  LINEA_CHECK_T(ConfigError, tok->vocab_size() <= c.model.vocab_size, "data.tokenizer: ", *c.data.tokenizer, " has ",
                tok->vocab_size(), " tokens, more than model.vocab_size ", c.model.vocab_size);
  return tok;
}

GlueExamples read_split(const Config& c, const GlueTask& task, const std::string& file) {
  const std::string path = (std::filesystem::path(c.task->data_dir) / file).string();
  try {
    return read_glue_tsv(path, task);
  } catch (const DataError& e) {
    throw DataError(str_cat("task.data_dir: ", e.what()));
  }
}

std::unique_ptr<GlueDataset> dataset(const Config& c, const GlueTask& task, const TextTokenizer& tok,
                                     const std::string& file) {
  GlueEncodeOptions o;
  o.max_len = c.data.seq_len;
  o.pad_to_longest = c.task->pad_to_longest;
  auto d = std::make_unique<GlueDataset>(read_split(c, task, file), tok, o, int(c.train.threads));
  if (d->truncated_count() > 0)
    std::fprintf(stderr, "linea: %s/%s: %ld of %ld examples truncated to data.seq_len %ld tokens\n",
                 c.task->data_dir.c_str(), file.c_str(), long(d->truncated_count()), long(d->size()),
                 long(c.data.seq_len));
  return d;
}

const Config& checked(const Config& c) {
  LINEA_CHECK_T(ConfigError, c.task.has_value(), "data.objective: classification needs a task: section");
  return c;
}

std::string joined(const std::vector<std::string>& names, size_t limit) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < limit; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > limit) out += str_cat(", ... (", names.size(), " in all)");
  return out;
}

}  // namespace

GlueObjective::GlueObjective(const Config& c, Device device, DType dtype)
    : config_(checked(c)),
      task_(glue_task(c.task->name)),
      tokenizer_(task_tokenizer(c)),
      tokenizer_sha256_(sha256_file(tokenizer_->path())),
      train_(dataset(c, task_, *tokenizer_, task_.train_file)),
      model_(c.model, task_.num_labels(), c.task->classifier_dropout, device, dtype),
      device_(device) {
  model_.encoder().set_recompute(c.train.recompute);
  for (const std::string& file : task_.dev_files)
    dev_.emplace_back(std::filesystem::path(file).stem().string(), dataset(c, task_, *tokenizer_, file));
  LINEA_CHECK_T(ConfigError, train_->size() >= c.train.batch_size, "task.data_dir: ", c.task->data_dir, "/",
                task_.train_file, " holds ", train_->size(), " examples, fewer than one batch of train.batch_size ",
                c.train.batch_size);
}

GlueObjective::~GlueObjective() = default;

void GlueObjective::init_parameters(Generator& gen) {
  LINEA_CHECK_T(ConfigError, tokenizer_->pad_id() >= 0, "data.tokenizer: ", tokenizer_->path(),
                " has no [PAD] token");
  model_.init_parameters(gen, tokenizer_->pad_id());
  if (!config_.task->init_from) return;
  const std::string& path = *config_.task->init_from;
  try {
    init_report_ = load_init_weights(path, model_);
  } catch (const Error& e) {
    throw CheckpointError(str_cat("task.init_from: ", e.what()));
  }
  const WeightsLoadReport& r = *init_report_;
  std::fprintf(stderr, "linea: task.init_from %s: loaded %zu tensors\n", path.c_str(), r.loaded.size());
  if (!r.missing.empty())
    std::fprintf(stderr, "linea:   missing from the checkpoint, freshly initialized: %s\n",
                 joined(r.missing, 32).c_str());
  if (!r.ignored.empty())
    std::fprintf(stderr, "linea:   ignored (head not carried over): %s\n", joined(r.ignored, 32).c_str());
  if (!r.unexpected.empty())
    std::fprintf(stderr, "linea:   unexpected, not in this model: %s\n", joined(r.unexpected, 32).c_str());
}

EncoderRows GlueObjective::rows_of(const GlueBatch& batch) const {
  return encoder_rows({batch.input_ids, batch.attention_mask, batch.token_type_ids}, config_.model.unpad);
}

TrainingObjective::MicroBatchLoss GlueObjective::train_loss(const std::vector<int64_t>& indices, int64_t) {
  GlueBatch batch = train_->get_batch(indices);
  int64_t tokens = 0;
  for (double m : batch.attention_mask.to_vector()) tokens += m != 0;
  Variable out = model_.forward(rows_of(batch));
  if (task_.regression) {
    // MSE as torch's MSELoss on the [B, 1] scores (BertForSequenceClassification, num_labels 1).
    const int64_t B = batch.targets.numel();
    Variable target(batch.targets.reshape({B, 1}).to(out.dtype()).to(device_));
    return {mean(pow(out - target, 2.0)), tokens, {}, {}};
  }
  return {cross_entropy(out, batch.labels.to(device_)), tokens, {}, {}};
}

EvalResult GlueObjective::evaluate(int64_t max_batches, int64_t micro_batch, EvalShard) {
  LINEA_CHECK_T(ConfigError, micro_batch > 0, "evaluate: micro_batch must be positive, got ", micro_batch);
  const bool was_training = model_.is_training();
  model_.eval();
  NoGradGuard no_grad;
  EvalResult result;
  std::vector<double> scores;
  for (const auto& [stem, data] : dev_) {
    std::vector<int64_t> pred_class, gold_class;
    std::vector<double> pred_value, gold_value;
    const int64_t n = data->size();
    for (int64_t start = 0, b = 0; start < n && (max_batches == 0 || b < max_batches); start += micro_batch, ++b) {
      std::vector<int64_t> idx;
      for (int64_t i = start; i < std::min(n, start + micro_batch); ++i) idx.push_back(i);
      GlueBatch batch = data->get_batch(idx);
      Variable out = model_.forward(rows_of(batch));
      const std::vector<double> logits = out.data().to(DType::f32).to(Device::cpu()).to_vector();
      const int64_t L = task_.num_labels(), B = int64_t(idx.size());
      double loss = 0;
      if (task_.regression) {
        const std::vector<double> t = batch.targets.to_vector();
        for (int64_t i = 0; i < B; ++i) {
          pred_value.push_back(logits[size_t(i)]);
          gold_value.push_back(t[size_t(i)]);
          loss += (logits[size_t(i)] - t[size_t(i)]) * (logits[size_t(i)] - t[size_t(i)]);
        }
        loss /= double(B);
      } else {
        loss = cross_entropy(out, batch.labels.to(device_)).data().to(DType::f32).item();
        const std::vector<double> y = batch.labels.to_vector();
        for (int64_t i = 0; i < B; ++i) {
          const double* row = logits.data() + i * L;
          pred_class.push_back(int64_t(std::max_element(row, row + L) - row));
          gold_class.push_back(int64_t(y[size_t(i)]));
        }
      }
      result.add_batch(loss, B);
    }
    const std::vector<GlueMetricValue> values =
        task_.regression ? glue_regression_metrics(task_.metrics, pred_value, gold_value)
                         : glue_classification_metrics(task_.metrics, pred_class, gold_class);
    const std::string prefix = dev_.size() > 1 ? stem + "." : "";
    for (const GlueMetricValue& v : values) result.metrics.emplace_back(prefix + v.name, v.value);
    scores.push_back(glue_task_score(values, task_.score_metrics));
  }
  double score = 0;
  for (double s : scores) score += s;
  result.metrics.emplace_back("score", 100.0 * score / double(scores.size()));
  model_.train(was_training);
  return result;
}

double GlueObjective::flops_per_token() const {
  // The head runs once per sequence, so the encoder's cost (with no MLM head) is the whole.
  return const_cast<EncoderClassifier&>(model_).encoder().flops_per_token(config_.data.seq_len, 0.0);
}

WeightsLoadReport load_init_weights(const std::string& path, EncoderClassifier& model) {
  const std::vector<std::string> stored = checkpoint_tensor_names(path);
  const bool fine_tuned = std::any_of(stored.begin(), stored.end(),
                                      [](const std::string& n) { return n.rfind("encoder.", 0) == 0; });
  WeightsLoadReport r = fine_tuned ? load_model_weights(path, model, {}, {"head.classifier.*"})
                                   : load_model_weights(path, model, {{"", "encoder."}}, {"mlm_head.*"});
  std::vector<std::string> encoder_missing;
  for (const std::string& m : r.missing)
    if (m.rfind("encoder.", 0) == 0) encoder_missing.push_back(m);
  if (!encoder_missing.empty())
    throw CheckpointError(str_cat(path, ": ", encoder_missing.size(), " encoder parameters are missing from the ",
                                  fine_tuned ? "fine-tuned" : "pretraining", " checkpoint (",
                                  joined(encoder_missing, 5), "); expected a linea MosaicBERT checkpoint of the same "
                                  "model (names embeddings.*, layers.*, or encoder.* after fine-tuning)"));
  return r;
}

}  // namespace linea
