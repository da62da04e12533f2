// The range and consistency rules of a recipe.
#include "configs/config_validate.h"

#include <algorithm>

#include "configs/config_error.h"
#include "core/error.h"

namespace linea {

namespace {

// Records failed rules in ConfigProblems, at most one per key: a key that already has an
// error (a value of the wrong type, its default left in place) gets no more.
class Checker {
 public:
  Checker(const KeyLocations& where, ConfigProblems& problems) : where_(where), problems_(problems) {}

  // Fails at `key` with "expected <expected>, got <got>" unless `ok`.
  template <class T>
  void require(bool ok, const std::string& key, const T& got, const std::string& expected) const {
    if (!ok) fail(where_.find(key), key, str_cat("expected ", expected, ", got ", got));
  }
  void positive(int64_t v, const std::string& key) const { require(v > 0, key, v, "an integer > 0"); }
  void non_negative(int64_t v, const std::string& key) const { require(v >= 0, key, v, "an integer >= 0"); }
  void non_negative(double v, const std::string& key) const { require(v >= 0, key, v, "a number >= 0"); }
  void positive(double v, const std::string& key) const { require(v > 0, key, v, "a number > 0"); }
  void fraction(double v, const std::string& key) const { require(v >= 0 && v < 1, key, v, "a number in [0, 1)"); }
  // `part` must divide `whole`; reported at `key`, or at `whole_key` when only that was set.
  void divides(int64_t part, const std::string& key, int64_t whole, const std::string& whole_key) const {
    if (part <= 0 || whole % part == 0) return;
    const std::string& at = !where_.has(key) && where_.has(whole_key) ? whole_key : key;
    fail(where_.find(at), key, str_cat("expected a divisor of ", whole_key, " (", whole, "), got ", part));
  }
  // A located warning about `key`, which was adjusted.
  void warn(const std::string& key, const std::string& what) const { problems_.warn(where_.find(key), what); }

 private:
  void fail(const RecipeLocation& at, const std::string& key, const std::string& what) const {
    if (!problems_.has_error(key)) problems_.error(at, key, what);
  }

  const KeyLocations& where_;
  ConfigProblems& problems_;
};

// One layer's token mixer and channel mixer options, at `prefix` ("model",
// "model.layout[1]"). Which kinds a model can build is checked when it is built
// (train/model_builder.h), so recipes naming kinds to come still parse.
void validate_layer_spec(const AttentionConfig& a, const FfnConfig& f, const std::string& prefix, const Checker& c) {
  c.positive(a.rope_theta, prefix + ".attention.rope_theta");
  c.non_negative(a.window, prefix + ".attention.window");
  if (a.rope_scaling) {
    const RopeScalingConfig& s = *a.rope_scaling;
    const std::string at = prefix + ".attention.rope_scaling.";
    c.require(s.factor >= 1, at + "factor", s.factor, "a number >= 1");
    c.positive(s.low_freq_factor, at + "low_freq_factor");
    c.require(s.high_freq_factor > s.low_freq_factor, at + "high_freq_factor", s.high_freq_factor,
              str_cat("a number > low_freq_factor (", s.low_freq_factor, ")"));
    c.positive(s.original_max_position_embeddings, at + "original_max_position_embeddings");
  }
  c.positive(f.hidden, prefix + ".ffn.hidden");
}

void validate_model(const ModelConfig& m, const Checker& c) {
  c.positive(m.vocab_size, "model.vocab_size");
  c.positive(m.hidden, "model.hidden");
  c.positive(m.layers, "model.layers");
  c.positive(m.heads, "model.heads");
  c.positive(m.kv_heads, "model.kv_heads");
  c.divides(m.heads, "model.heads", m.hidden, "model.hidden");
  c.divides(m.kv_heads, "model.kv_heads", m.heads, "model.heads");
  c.positive(m.norm.eps, "model.norm.eps");
  validate_layer_spec(m.attention, m.ffn, "model", c);
  c.require(m.layout.empty() || m.layer_pattern.empty(), "model.layer_pattern", "a pattern",
            "[] when model.layout is given (the layout says each layer's attention)");
  int64_t covered = 0;
  bool counted = true;  // a misplaced 0 makes the coverage meaningless
  for (size_t g = 0; g < m.layout.size(); ++g) {
    const LayerGroup& group = m.layout[g];
    const std::string at = str_cat("model.layout[", g, "]");
    validate_layer_spec(group.attention, group.ffn, at, c);
    for (size_t p = 0; p < group.pattern.size(); ++p)
      validate_layer_spec(group.pattern[p].attention, group.pattern[p].ffn, str_cat(at, ".pattern[", p, "]"), c);
    c.non_negative(group.layers, at + ".layers");
    const bool rest = group.layers == 0;
    c.require(!rest || g + 1 == m.layout.size(), at + ".layers", group.layers,
              "a count > 0 (0, all remaining layers, only in the last group)");
    counted = counted && group.layers >= 0 && (!rest || g + 1 == m.layout.size());
    covered += rest ? std::max<int64_t>(1, m.layers - covered) : group.layers;
  }
  c.require(!counted || m.layout.empty() || covered == m.layers, "model.layout", str_cat(covered, " layers"),
            str_cat("groups covering model.layers (", m.layers, ") exactly"));
  c.fraction(m.dropout, "model.dropout");
  c.positive(m.init_std, "model.init_std");
  c.positive(m.max_seq_len, "model.max_seq_len");
  c.positive(m.type_vocab_size, "model.type_vocab_size");
  if (m.lora) {
    c.positive(m.lora->r, "model.lora.r");
    c.positive(m.lora->alpha, "model.lora.alpha");
    c.fraction(m.lora->dropout, "model.lora.dropout");
    c.require(!m.lora->targets.empty(), "model.lora.targets", "[]", "the projections to adapt, e.g. [q_proj, v_proj]");
  }
}

void validate_optim(const OptimConfig& o, const Checker& c) {
  c.non_negative(o.lr, "optim.lr");
  c.fraction(o.betas[0], "optim.betas[0]");
  c.fraction(o.betas[1], "optim.betas[1]");
  c.positive(o.eps, "optim.eps");
  c.non_negative(o.weight_decay, "optim.weight_decay");
  c.non_negative(o.grad_clip, "optim.grad_clip");
  c.fraction(o.momentum, "optim.momentum");
  c.fraction(o.muon_momentum, "optim.muon_momentum");
  c.positive(o.muon_ns_steps, "optim.muon_ns_steps");
  for (size_t i = 0; i < o.no_decay.size(); ++i)
    c.require(!o.no_decay[i].empty(), str_cat("optim.no_decay[", i, "]"), "''", "a non-empty name pattern");
}

void validate_schedule(ScheduleConfig& s, const TrainConfig& t, const Checker& c) {
  c.non_negative(s.warmup_steps, "schedule.warmup_steps");
  // Decaying schedules reach their floor at train.steps, so warmup must end before it. A
  // short run of a long recipe (a smoke test, --set train.steps=20) warms up for a tenth.
  const bool decays = s.kind == ScheduleKind::linear || s.kind == ScheduleKind::cosine || s.kind == ScheduleKind::wsd;
  if (decays && t.steps > 0 && s.warmup_steps >= t.steps) {
    const int64_t shortened = t.steps / 10;
    c.warn("schedule.warmup_steps", str_cat("schedule.warmup_steps ", s.warmup_steps, " >= train.steps ", t.steps,
                                            " for a decaying schedule; warming up for ", shortened, " steps instead"));
    s.warmup_steps = shortened;
  }
  c.require(s.min_lr_ratio >= 0 && s.min_lr_ratio <= 1, "schedule.min_lr_ratio", s.min_lr_ratio, "a number in [0, 1]");
  c.non_negative(s.decay_steps, "schedule.decay_steps");
  c.require(s.kind != ScheduleKind::wsd || s.decay_steps <= t.steps, "schedule.decay_steps", s.decay_steps,
            str_cat("at most train.steps (", t.steps, ")"));
  c.positive(s.plateau_patience, "schedule.plateau_patience");
  c.require(s.plateau_factor > 0 && s.plateau_factor < 1, "schedule.plateau_factor", s.plateau_factor,
            "a number in (0, 1)");
}

void validate_train(TrainConfig& t, const Checker& c) {
  c.non_negative(t.steps, "train.steps");
  c.positive(t.batch_size, "train.batch_size");
  c.positive(t.micro_batch_size, "train.micro_batch_size");
  c.divides(t.micro_batch_size, "train.micro_batch_size", t.batch_size, "train.batch_size");
  c.positive(t.log_every, "train.log_every");
  c.non_negative(t.eval_every, "train.eval_every");
  c.non_negative(t.eval_batches, "train.eval_batches");
  c.non_negative(t.ckpt_every, "train.ckpt_every");
  c.require(t.keep_checkpoints >= 1, "train.keep_checkpoints", t.keep_checkpoints, "an integer >= 1");
  // `--resume auto` falls back to the previous checkpoint when the newest is damaged.
  if (t.keep_checkpoints == 1) {
    c.warn("train.keep_checkpoints", "train.keep_checkpoints 1 keeps 2 instead, so that a damaged newest checkpoint "
                                     "leaves the previous one to resume from");
    t.keep_checkpoints = 2;
  }
  c.non_negative(t.threads, "train.threads");
  c.require(!t.init_from || !t.init_from->empty(), "train.init_from", "''", "a checkpoint path or null");
  for (size_t i = 0; i < t.trainable.size(); ++i)
    c.require(!t.trainable[i].empty(), str_cat("train.trainable[", i, "]"), "''", "a glob over parameter names");
  c.fraction(t.stop_at_accuracy, "train.stop_at_accuracy");
  c.require(t.stop_at_accuracy == 0 || t.eval_every > 0, "train.stop_at_accuracy", t.stop_at_accuracy,
            "train.eval_every > 0: it is read from the evaluations");
}

void validate_task(const Config& config, const Checker& c) {
  const bool fine_tuning = config.data.objective == Objective::classification;
  if (!config.task) {
    c.require(!fine_tuning, "data.objective", "classification", "a task: section (name, data_dir) to fine-tune on");
    return;
  }
  const TaskConfig& t = *config.task;
  c.require(fine_tuning, "task", "a task section",
            str_cat("data.objective: classification with a task: section (data.objective is ",
                    to_string(config.data.objective), ")"));
  c.require(config.model.kind == ModelKind::encoder, "data.objective", "classification",
            str_cat("model.kind encoder to fine-tune (model.kind is ", to_string(config.model.kind), ")"));
  const std::vector<std::string>& names = config_glue_task_names();
  std::string listed;
  for (const std::string& n : names) listed += (listed.empty() ? "" : ", ") + n;
  c.require(std::find(names.begin(), names.end(), t.name) != names.end(), "task.name", "'" + t.name + "'",
            "one of " + listed);
  c.require(!t.data_dir.empty(), "task.data_dir", "''", "the folder holding the task's TSV files");
  c.require(!t.init_from || !t.init_from->empty(), "task.init_from", "''", "a checkpoint path or null");
  c.fraction(t.classifier_dropout, "task.classifier_dropout");
}

}  // namespace

const std::vector<std::string>& config_glue_task_names() {
  static const std::vector<std::string> names = {"cola", "sst2", "mrpc", "qqp", "qnli", "rte", "mnli", "stsb"};
  return names;
}

void validate_config(Config& config, const KeyLocations& where, ConfigProblems& problems) {
  Checker c(where, problems);
  validate_model(config.model, c);
  c.positive(config.data.seq_len, "data.seq_len");
  c.require(config.data.seq_len <= config.model.max_seq_len, "data.seq_len", config.data.seq_len,
            str_cat("at most model.max_seq_len (", config.model.max_seq_len, ")"));
  const MlmConfig& mlm = config.data.mlm;
  c.require(mlm.mask_ratio > 0 && mlm.mask_ratio < 1, "data.mlm.mask_ratio", mlm.mask_ratio, "a number in (0, 1)");
  c.require(mlm.eval_mask_ratio > 0 && mlm.eval_mask_ratio < 1, "data.mlm.eval_mask_ratio", mlm.eval_mask_ratio,
            "a number in (0, 1)");
  validate_optim(config.optim, c);
  validate_schedule(config.schedule, config.train, c);
  validate_train(config.train, c);
  c.positive(config.dist.bucket_mb, "dist.bucket_mb");
  c.positive(config.dist.timeout_s, "dist.timeout_s");
  validate_task(config, c);
  c.non_negative(config.transfer.mse_factor, "transfer.mse_factor");
  c.non_negative(config.transfer.xent_factor, "transfer.xent_factor");
}

}  // namespace linea
