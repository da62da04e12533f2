#include "train/trainer.h"

#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>

#include "autograd/variable.h"
#include "configs/config.h"
#include "core/allocator.h"
#include "core/rng.h"
#include "core/dist/communicator.h"
#include "data/sampler.h"
#include "optim/clip.h"
#include "optim/optimizer.h"
#include "optim/schedule.h"
#include "train/auto_resume.h"
#include "train/checkpoint.h"
#include "train/data_parallel.h"
#include "train/evaluate.h"
#include "train/metrics.h"
#include "train/mfu_peak.h"
#include "train/objective.h"
#include "train/optimizer_factory.h"
#include "train/run_dir.h"
#include "train/signals.h"
#include "train/step_values.h"

namespace linea {
namespace {

// Dropout draws from its own stream so it never overlaps the initializer's.
constexpr uint64_t kDropoutStream = 0x9E3779B97F4A7C15ull;

ScheduleOptions schedule_options(const Config& c) {
  ScheduleOptions s;
  s.kind = c.schedule.kind;
  s.base_lr = c.optim.lr;
  s.warmup_steps = c.schedule.warmup_steps;
  s.total_steps = c.train.steps;
  s.min_lr_ratio = c.schedule.min_lr_ratio;
  s.decay_steps = c.schedule.decay_steps;
  s.plateau_patience = c.schedule.plateau_patience;
  s.plateau_factor = c.schedule.plateau_factor;
  return s;
}

std::string default_run_dir(const std::string& recipe) {
  return "runs/" + std::filesystem::path(recipe).stem().string();
}

double mib(double bytes) { return bytes / double(1 << 20); }

NamedValues values_of(const std::vector<std::pair<std::string, Variable>>& terms) {
  NamedValues out;
  for (const auto& [name, term] : terms) out.emplace_back(name, term.data().item());
  return out;
}

// A data path as the recipe gave it and, when relative, where it resolved to.
std::string resolved(const std::string& path) {
  const std::filesystem::path p(path);
  if (p.is_absolute()) return path;
  return str_cat(path, " (", std::filesystem::absolute(p).lexically_normal().string(), ")");
}

// Keys whose change moves the learning rate of a resumed run, "old -> new" each.
std::string schedule_changes(const Config& a, const Config& b) {
  std::string out;
  auto note = [&](const char* key, auto x, auto y) {
    if (x != y) out += str_cat(out.empty() ? "" : ", ", key, " ", x, " -> ", y);
  };
  note("train.steps", a.train.steps, b.train.steps);
  note("optim.lr", a.optim.lr, b.optim.lr);
  note("schedule.kind", to_string(a.schedule.kind), to_string(b.schedule.kind));
  note("schedule.warmup_steps", a.schedule.warmup_steps, b.schedule.warmup_steps);
  note("schedule.min_lr_ratio", a.schedule.min_lr_ratio, b.schedule.min_lr_ratio);
  note("schedule.decay_steps", a.schedule.decay_steps, b.schedule.decay_steps);
  return out;
}

class Trainer {
 public:
  // Every rank builds the same model from the same seed; rank 0's parameters are then
  // broadcast so replicas start identical even if initialization ever depended on the rank.
  Trainer(const TrainCommand& cmd, Config cfg, Communicator& comm, const ObjectiveFactory& make)
      : cmd_(cmd),
        cfg_(std::move(cfg)),
        comm_(comm),
        lead_(comm.rank() == 0),
        run_(cmd.run_dir.empty() ? default_run_dir(cmd.recipe) : cmd.run_dir),
        device_(comm.size() > 1 && comm.device().is_cuda() ? comm.device() : cfg_.train.device),
        dtype_(cfg_.train.precision == Precision::bf16 ? DType::bf16 : DType::f32),
        objective_(make(cfg_, device_, dtype_)),
        model_(objective_->model()),
        sampler_(objective_->num_train_examples(), uint64_t(cfg_.seed), comm.rank(), comm.size()) {
    const int64_t W = comm.size(), B = cfg_.train.batch_size, micro = cfg_.train.micro_batch_size;
    LINEA_CHECK_T(ConfigError, B % (W * micro) == 0, "train.batch_size: ", B, " is not divisible by the world size ",
                  W, " times train.micro_batch_size ", micro, "; expected a multiple of ", W * micro);
    LINEA_CHECK_T(ConfigError, cfg_.train.stop_at_accuracy == 0 || objective_->reports_example_accuracy(),
                  "train.stop_at_accuracy: the validation data (", cfg_.data.valid,
                  ") reports no example accuracy; expected synthetic-task shards (linea prepare --synthetic) or 0");
    Generator init(uint64_t(cfg_.seed));
    objective_->init_parameters(init);
    if (!cfg_.train.trainable.empty()) train_only(cfg_.train.trainable);
    if (cfg_.train.init_from) load_init_from(*cfg_.train.init_from);
    const NamedParams params = model_.named_parameters();
    if (W > 1) {
      dp_ = std::make_unique<DataParallel>(comm, params, DataParallelOptions{cfg_.dist.bucket_mb, cfg_.dist.shard_optimizer});
      dp_->broadcast_parameters();
    }
    optimizer_ = make_optimizer(cfg_.optim, params, dp_ ? dp_->owned_slices() : std::nullopt);
    schedule_ = std::make_unique<LrSchedule>(schedule_options(cfg_));
    // Each rank drops out its own examples with its own stream (seed + rank); the offsets
    // are kept equal across ranks (see sync_dropout_offset), so a checkpoint stores one.
    default_generator().set_state(dropout_seed_base() + uint64_t(comm.rank()), 0);
  }

  // train.init_from: the checkpoint's model tensors replace the random init by name (a run
  // that resumes overwrites them again with its own checkpoint's).
  void load_init_from(const std::string& given) {
    const std::string path = resolve_checkpoint(given);
    WeightsLoadReport r;
    try {
      r = load_model_weights(path, model_, {});
    } catch (const Error& e) {
      throw CheckpointError(str_cat("train.init_from: ", e.what()));
    }
    // Linearizing changes the attention on purpose; every other difference (a rope_theta, an
    // eps) would change the math the weights were trained with, so it is said.
    if (lead_) {
      const Config stored = parse_config(read_checkpoint_config(path), path);
      std::string diff;
      for (const std::string& d : model_config_diff(cfg_.model, stored.model)) diff += (diff.empty() ? "" : "; ") + d;
      if (!diff.empty())
        std::fprintf(stderr, "linea: train.init_from: the recipe's model differs from the checkpoint's (recipe vs "
                             "checkpoint; check that only what you meant to change is listed): %s\n", diff.c_str());
    }
    LINEA_CHECK_T(CheckpointError, r.unexpected.empty(), "train.init_from: ", path, " holds ", r.unexpected.size(),
                  " tensors the model has no parameter for (first: ", r.unexpected.empty() ? "" : r.unexpected[0],
                  "); expected a checkpoint of this recipe's model");
    if (lead_) {
      std::fprintf(stderr, "linea: train.init_from %s: loaded %zu tensors\n", path.c_str(), r.loaded.size());
      if (!r.missing.empty())
        std::fprintf(stderr, "linea:   %zu parameters not in it keep their init (first: %s)\n", r.missing.size(),
                     r.missing[0].c_str());
    }
  }

  // train.trainable: every parameter frozen but those a glob matches (LoLCATs trains only
  // the feature maps and window factors, then only the LoRA adapters).
  void train_only(const std::vector<std::string>& globs) {
    model_.freeze("*");
    for (const std::string& g : globs) {
      try {
        model_.unfreeze(g);
      } catch (const ConfigError&) {
        throw ConfigError(str_cat("train.trainable: '", g, "' matches no parameter of the model (globs over dotted ",
                                  "names such as layers.0.self_attn.q_proj.weight; '*' spans dots)"));
      }
    }
    if (lead_) {
      int64_t trained = 0, all = 0;
      for (const auto& [name, p] : model_.named_parameters()) {
        all += p.data().numel();
        if (p.requires_grad()) trained += p.data().numel();
      }
      std::fprintf(stderr, "linea: train.trainable: %lld of %lld parameter elements train\n",
                   static_cast<long long>(trained), static_cast<long long>(all));
    }
  }

  // train.keep_best: checkpoints/best.h5 holds the lowest validation loss so far, which
  // checkpoints/best.json records so a resumed run keeps comparing against it.
  void keep_if_best(double loss) {
    if (!cfg_.train.keep_best || !(loss < best_loss_)) return;
    best_loss_ = loss;
    write_checkpoint(run_.file("checkpoints/best.h5"));
    if (lead_) {
      char exact[32];
      std::snprintf(exact, sizeof exact, "%.17g", loss);  // read back exactly on resume
      write_file_atomically(run_.file("checkpoints/best.json"),
                            str_cat("{\"step\": ", state_.step, ", \"valid_loss\": ", exact, "}\n"));
      std::fprintf(stderr, "linea: best validation loss so far (%.6g): kept as checkpoints/best.h5\n", loss);
    }
  }

  // train.stop_at_accuracy: whether evaluation `r` ends the run (Zoology's "test accuracy >
  // 0.99"). The constructor made sure the validation data reports an example accuracy.
  bool reached_accuracy(const EvalResult& r) const {
    const double threshold = cfg_.train.stop_at_accuracy;
    if (threshold <= 0 || !r.example_accuracy || !(*r.example_accuracy > threshold)) return false;
    if (lead_)
      std::fprintf(stderr, "linea: example accuracy %.4f > %g (train.stop_at_accuracy): stopping at step %ld\n",
                   *r.example_accuracy, threshold, long(state_.step));
    return true;
  }

  void read_best() {
    std::ifstream in(run_.file("checkpoints/best.json"));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t at = text.find("\"valid_loss\":");
    if (at != std::string::npos) best_loss_ = std::stod(text.substr(at + 13));
  }

  void resume_from(const std::string& path) {
    Config stored = parse_config(read_checkpoint_config(path), path);
    std::vector<std::string> diff = model_config_diff(stored.model, cfg_.model);
    if (!diff.empty()) {
      std::string joined;
      for (const std::string& d : diff) joined += (joined.empty() ? "" : "; ") + d;
      throw ConfigError(str_cat(path, ": the checkpoint's model differs from the recipe (checkpoint vs recipe: ",
                                joined, "), expected the same model section"));
    }
    TrainerState s;
    load_checkpoint(path, model_, optimizer_.get(), &s);
    if (cfg_.train.keep_best) read_best();
    const std::string sha = objective_->tokenizer_sha256();
    if (!s.tokenizer_sha256.empty() && s.tokenizer_sha256 != sha)
      throw DataError(str_cat(path, ": the checkpoint was trained on data from the tokenizer with sha256 ",
                              s.tokenizer_sha256.substr(0, 12), ", the recipe's data comes from sha256 ",
                              sha.substr(0, 12), "; expected the same tokenizer"));
    state_ = s;
    sampler_.set_state({s.sampler_epoch, s.sampler_cursor});
    default_generator().set_state(s.rng_seed + uint64_t(comm_.rank()), s.rng_offset);
    schedule_->set_state(s.schedule_state);
    if (lead_) std::fprintf(stderr, "linea: resumed from %s at step %ld\n", path.c_str(), long(s.step));
    // A longer or shorter run re-stretches a decaying schedule: the LR jumps. Say by how much.
    LrSchedule before(schedule_options(stored));
    before.set_state(s.schedule_state);
    const double old_lr = before.lr_at(s.step), new_lr = schedule_->lr_at(s.step);
    if (lead_ && std::abs(old_lr - new_lr) > 1e-9 * std::max(std::abs(old_lr), std::abs(new_lr)))
      std::fprintf(stderr, "linea: warning: the schedule changed on resume (%s): the lr at step %ld moves from %.3e to %.3e\n",
                   schedule_changes(stored, cfg_).c_str(), long(s.step), old_lr, new_lr);
  }

  // --dry-run: what a start would build, without training. The peak memory is that of one
  // measured micro-step (weights, gradients, activations) plus the optimizer state the first
  // step would allocate.
  void dry_run() {
    std::printf("%s", dump_config(cfg_).c_str());
    const int64_t params = model_.num_parameters(), micro = cfg_.train.micro_batch_size;
    std::vector<int64_t> first(static_cast<size_t>(micro));
    for (int64_t i = 0; i < micro; ++i) first[size_t(i)] = i;
    reset_peak_memory(device_);
    objective_->train_loss(first, 0).total().backward();
    const double step_bytes = double(memory_stats(device_).peak_bytes);
    // AdamW: two fp32 moments, plus an fp32 master copy of bf16 weights; SGD: one buffer.
    const double per_param = cfg_.optim.kind == OptimKind::sgd ? 4.0 : 8.0 + (dtype_ == DType::bf16 ? 4.0 : 0.0);
    const double optim_bytes = per_param * double(params) / double(comm_.size() > 1 && cfg_.dist.shard_optimizer ? comm_.size() : 1);
    std::printf("\n# layout\n");
    for (const std::string& line : layout_summary(cfg_.model)) std::printf("%s\n", line.c_str());
    std::printf("\n# dry run\nparameters       %ld (%.2fM)\n", long(params), double(params) / 1e6);
    std::printf("flops per token  %.4g (training: forward + backward)\n", objective_->flops_per_token());
    std::printf("tokens per step  %ld (batch %ld x seq_len %ld)\n", long(cfg_.train.batch_size * cfg_.data.seq_len),
                long(cfg_.train.batch_size), long(cfg_.data.seq_len));
    std::printf("peak memory      ~%.0f MiB per rank on %s: one micro-batch of %ld measured at %.0f MiB, optimizer state %.0f MiB\n",
                mib(step_bytes + optim_bytes), device_.str().c_str(), long(micro), mib(step_bytes), mib(optim_bytes));
  }

  int run() {
    std::unique_ptr<MetricsLog> log;
    std::unique_ptr<MfuPeak> peak;  // per process; MFU is the whole job's (x ranks)
    double resumed_elapsed = 0;
    if (lead_) {
      run_.create();
      write_config();
      log = std::make_unique<MetricsLog>(run_.file("metrics.jsonl"), state_.step);
      resumed_elapsed = log->resumed_elapsed_s();
      peak = std::make_unique<MfuPeak>(device_, dtype_);
      print_header(*peak);
    }
    const int64_t B = cfg_.train.batch_size, micro = cfg_.train.micro_batch_size;
    const int64_t accum = B / (comm_.size() * micro);  // micro-steps per rank
    const double flops_per_token = objective_->flops_per_token();
    NamedParams params = model_.named_parameters();
    reset_peak_memory(device_);
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t start_step = state_.step;
    auto window_t0 = t0;
    int64_t window_tokens = 0, window_steps = 0;
    double train_s = 0;  // training steps only, for the summary's tokens/s
    std::optional<double> last_loss;
    std::optional<EvalResult> last_eval;

    // A run that ended on train.stop_at_accuracy stays ended, unless the threshold was raised
    // above the accuracy that stopped it (or set to 0). The stored accuracy is trusted: it is
    // not measured again, even when the evaluation settings changed.
    const double threshold = cfg_.train.stop_at_accuracy;
    if (state_.step < cfg_.train.steps && state_.stopped_at_accuracy > 0 && threshold > 0 &&
        state_.stopped_at_accuracy > threshold) {
      if (lead_)
        std::fprintf(stderr, "linea: the run stopped at step %ld with example accuracy %.4f > %g (train.stop_at_accuracy); "
                     "nothing to train (raise train.stop_at_accuracy above it, or set it to 0, to go on)\n",
                     long(state_.step), state_.stopped_at_accuracy, threshold);
      return 0;
    }
    while (state_.step < cfg_.train.steps) {
      state_.stopped_at_accuracy = 0;
      const double lr = schedule_->lr_at(state_.step);
      model_.zero_grad();
      const int64_t epoch = sampler_.state().epoch;
      std::vector<int64_t> indices = sampler_.next(B);
      double loss_sum = 0;
      int64_t step_tokens = 0;
      StepValues aux_sums, metric_sums;
      const Tensor scale = Tensor::full({}, 1.0 / double(accum), dtype_, device_);
      for (int64_t m = 0; m < accum; ++m) {
        std::vector<int64_t> part(indices.begin() + m * micro, indices.begin() + (m + 1) * micro);
        TrainingObjective::MicroBatchLoss l = objective_->train_loss(part, epoch);
        if (dp_) dp_->set_gradient_sync(m == accum - 1);  // communicate on the last micro-step only
        l.total().backward(scale);
        loss_sum += l.loss.data().item();
        step_tokens += l.tokens;
        aux_sums.add(values_of(l.aux_losses));
        metric_sums.add(l.metrics);
      }
      const double max_norm = cfg_.optim.grad_clip > 0 ? cfg_.optim.grad_clip : INFINITY;
      double loss = loss_sum / double(accum), gnorm = 0;
      if (dp_) {
        dp_->finish_gradients();
        gnorm = dp_->clip_gradients(max_norm);
        loss = comm_.all_reduce_value(loss, ReduceOp::mean);
        step_tokens = int64_t(comm_.all_reduce_value(double(step_tokens), ReduceOp::sum));
      } else {
        gnorm = clip_grad_norm(params, max_norm);
      }
      const NamedValues aux_losses = aux_sums.take_mean(comm_), metrics = metric_sums.take_mean(comm_);
      std::string not_finite = std::isfinite(loss) ? "" : "loss";
      for (const auto& [name, value] : aux_losses)
        if (not_finite.empty() && !std::isfinite(value)) not_finite = "aux loss " + name;
      if (not_finite.empty() && !std::isfinite(gnorm)) not_finite = "gradient norm";
      if (!not_finite.empty())
        throw Error(str_cat("step ", state_.step + 1, ": ", not_finite, " is not finite (loss ", loss, ", grad norm ",
                            gnorm, "); the last good checkpoint is kept; lower optim.lr or check the data"));
      optimizer_->step(lr);
      if (dp_) dp_->sync_parameters();
      sync_dropout_offset();
      state_.step += 1;
      model_.run_after_step(StepEnd{state_.step, comm_});
      state_.tokens_seen += step_tokens;
      window_tokens += step_tokens;
      window_steps += 1;
      last_loss = loss;
      const bool last = state_.step == cfg_.train.steps;

      if (state_.step % cfg_.train.log_every == 0 || last) {
        const auto now = std::chrono::steady_clock::now();
        const double window_s = std::chrono::duration<double>(now - window_t0).count();
        train_s += window_s;
        StepMetrics m;
        m.step = state_.step;
        m.tokens_seen = state_.tokens_seen;
        m.loss = loss;
        m.lr = lr;
        m.grad_norm = gnorm;
        m.aux_losses = aux_losses;
        m.metrics = metrics;
        m.tokens_per_s = double(window_tokens) / window_s;
        m.peak_mem_bytes = memory_stats(device_).peak_bytes;
        m.elapsed_s = resumed_elapsed + std::chrono::duration<double>(now - t0).count();
        // The ETA follows the recent steps (this window), not the run's average.
        m.eta_s = window_s / double(window_steps) * double(cfg_.train.steps - state_.step);
        if (lead_) {
          const double achieved = m.tokens_per_s * flops_per_token / double(comm_.size());
          if (peak->raise(achieved))
            std::fprintf(stderr, "linea: step %ld ran at %.1f GFLOP/s per process, above the GEMM peak measured at start; "
                         "the MFU peak is raised to it (set LINEA_PEAK_TFLOPS for a nominal one)\n",
                         long(m.step), achieved / 1e9);
          m.mfu = achieved / peak->flops();
          log->log_step(m);
          if (!cmd_.no_progress) std::fprintf(stderr, "%s\n", progress_line(m, cfg_.train.steps).c_str());
        }
        window_t0 = now;
        window_tokens = 0;
        window_steps = 0;
      }
      const bool evaluated = cfg_.train.eval_every > 0 && (state_.step % cfg_.train.eval_every == 0 || last);
      bool accurate_enough = false;  // train.stop_at_accuracy reached
      if (evaluated) {
        EvalResult r = objective_->evaluate(cfg_.train.eval_batches, micro, EvalShard{comm_.rank(), comm_.size()});
        if (r.partial) combine_across_ranks(r);
        if (lead_) log->log_eval(state_.step, "valid", r.mean_nll, r.perplexity(), r.tokens, r.accuracy, r.metrics,
                                r.target_accuracy, r.example_accuracy);
        schedule_->observe(r.mean_nll);
        if (lead_) std::fprintf(stderr, "%s\n", format_eval_line(state_.step, r).c_str());
        last_eval = r;
        accurate_enough = reached_accuracy(r);
        if (accurate_enough) state_.stopped_at_accuracy = *r.example_accuracy;  // before best.h5 is written
        keep_if_best(r.mean_nll);
      }
      // A signal may reach the ranks at different steps; they stop together. The evaluation
      // is combined across ranks, so every rank sees the same accuracy.
      const bool signalled =
          comm_.size() > 1 ? comm_.all_reduce_value(stop_requested(), ReduceOp::max) > 0 : stop_requested();
      const bool stop = signalled || accurate_enough;
      const bool saving = last || stop || (cfg_.train.ckpt_every > 0 && state_.step % cfg_.train.ckpt_every == 0);
      if (saving) checkpoint();
      if (evaluated || saving) {  // tokens/s measures training steps only
        const auto now = std::chrono::steady_clock::now();
        if (window_steps > 0) train_s += std::chrono::duration<double>(now - window_t0).count();
        window_t0 = now;
        window_tokens = 0;
        window_steps = 0;
      }
      if (signalled) {
        if (lead_) std::fprintf(stderr, "linea: stopped at step %ld; resume with --resume auto\n", long(state_.step));
        return 0;
      }
      if (accurate_enough) break;
    }
    if (lead_ && state_.step > start_step) {
      const double tokens = double(state_.tokens_seen), wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::string summary = str_cat("linea: done: ", state_.step, " steps, ", tokens / 1e6, "M tokens seen; this run ",
                                    format_duration(wall), " wall");
      if (train_s > 0)
        summary += str_cat(", ", int64_t(double(state_.tokens_seen - start_tokens_) / train_s), " tok/s in training steps");
      if (last_loss) summary += str_cat("; last train loss ", *last_loss);
      if (last_eval) summary += str_cat("; valid loss ", last_eval->mean_nll);
      if (last_eval && last_eval->language_model) summary += str_cat(", perplexity ", last_eval->perplexity());
      std::fprintf(stderr, "%s\n", summary.c_str());
    }
    if (lead_ && dp_) {
      const CommStats& c = dp_->comm_stats();
      std::fprintf(stderr, "linea: %d ranks, %ld gradient collectives, %.2f s communicating, %.2f s waited for (%.0f%% hidden behind backward)\n",
                   comm_.size(), long(c.collectives), c.comm_s, c.wait_s, 100 * c.hidden_fraction());
    }
    if (lead_ && start_step == cfg_.train.steps) std::fprintf(stderr, "linea: already trained for %ld steps\n", long(state_.step));
    return 0;
  }

  RunDir& run_dir() { return run_; }

 private:
  // config.yaml is this start's config; a different one from an earlier start is kept as
  // config.until_step_N.yaml (the config that trained until step N).
  void write_config() {
    const std::string path = run_.file("config.yaml"), now = dump_config(cfg_);
    std::ifstream in(path);
    if (in && state_.step > 0) {
      const std::string before((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (before != now) {
        char name[48];
        std::snprintf(name, sizeof name, "config.until_step_%07ld.yaml", long(state_.step));
        write_file_atomically(run_.file(name), before);
      }
    }
    write_file_atomically(path, now);
    start_tokens_ = state_.tokens_seen;
  }

  void print_header(const MfuPeak& peak) const {
    const int64_t micro = cfg_.train.micro_batch_size, B = cfg_.train.batch_size, T = cfg_.data.seq_len;
    std::fprintf(stderr, "linea: run %s | %s %.2fM parameters | steps %ld -> %ld\n", run_.path().c_str(),
                 to_string(cfg_.model.kind), double(model_.num_parameters()) / 1e6, long(state_.step),
                 long(cfg_.train.steps));
    std::fprintf(stderr, "linea: %ld tokens per step (batch %ld x seq_len %ld; %ld micro-batch(es) of %ld per rank) | %s %s | %d rank(s) x %d thread(s)\n",
                 long(B * T), long(B), long(T), long(B / (comm_.size() * micro)), long(micro), device_.str().c_str(),
                 dtype_name(dtype_), comm_.size(), omp_get_max_threads());
    if (cfg_.task)
      std::fprintf(stderr, "linea: data task.data_dir %s\n", resolved(cfg_.task->data_dir).c_str());
    else
      std::fprintf(stderr, "linea: data data.train %s | data.valid %s\n", resolved(cfg_.data.train).c_str(),
                   resolved(cfg_.data.valid).c_str());
    std::fprintf(stderr, "linea: MFU = model FLOPs/s over %.1f GFLOP/s per process (%s GEMM peak, %.4g FLOPs per token)\n",
                 peak.flops() / 1e9, peak.source().c_str(), objective_->flops_per_token());
  }

  // Sums a sharded evaluation's token counts, NLL and correct predictions (and examples and
  // their accuracies) over the ranks. Every rank makes the same reductions, also one that
  // scored no batch.
  void combine_across_ranks(EvalResult& r) {
    const double tokens = comm_.all_reduce_value(double(r.tokens));
    const double nll = comm_.all_reduce_value(r.mean_nll * double(r.tokens));
    // The ranks' accuracies weighted by their tokens (or examples) over the total; none when
    // no rank has one.
    auto combine_accuracy = [&](const std::optional<double>& a, double weight, double total) {
      const double correct = comm_.all_reduce_value(a.value_or(0) * weight);
      const bool present = comm_.all_reduce_value(a ? 1 : 0, ReduceOp::max) > 0;
      return present && total > 0 ? std::optional<double>(correct / total) : std::nullopt;
    };
    const double examples = comm_.all_reduce_value(double(r.examples));
    r.accuracy = combine_accuracy(r.accuracy, double(r.tokens), tokens);
    r.target_accuracy = combine_accuracy(r.target_accuracy, double(r.tokens), tokens);
    r.example_accuracy = combine_accuracy(r.example_accuracy, double(r.examples), examples);
    r.tokens = int64_t(tokens);
    r.examples = int64_t(examples);
    r.mean_nll = tokens > 0 ? nll / tokens : 0;
    r.partial = false;
  }

  uint64_t dropout_seed_base() const { return uint64_t(cfg_.seed) ^ kDropoutStream; }

  // Ranks draw different numbers of dropout variates (their batches differ in real tokens);
  // moving all to the furthest offset keeps one offset to checkpoint and resume from.
  void sync_dropout_offset() {
    if (comm_.size() == 1) return;
    Generator& g = default_generator();
    g.set_state(g.seed(), uint64_t(comm_.all_reduce_value(double(g.offset()), ReduceOp::max)));
  }

  // Rank 0 writes the whole checkpoint (a ZeRO-1 optimizer state gathered from every rank
  // first); the barrier makes it the latest only once every rank has reached it.
  void write_checkpoint(const std::string& path) {
    const SamplerState ss = sampler_.state();
    state_.sampler_epoch = ss.epoch;
    state_.sampler_cursor = ss.cursor;
    state_.rng_seed = dropout_seed_base();
    state_.rng_offset = default_generator().offset();
    state_.schedule_state = schedule_->state();
    state_.tokenizer_sha256 = objective_->tokenizer_sha256();
    OptimizerSnapshot optim = snapshot_of(*optimizer_, comm_);
    if (lead_) save_checkpoint(path, model_, &optim, state_, dump_config(cfg_), comm_.size());
    if (comm_.size() > 1) comm_.barrier();
  }

  void checkpoint() {
    const std::string path = run_.checkpoint_path(state_.step);
    const auto t0 = std::chrono::steady_clock::now();
    write_checkpoint(path);
    if (lead_) {
      run_.set_latest(path);
      run_.prune(int(cfg_.train.keep_checkpoints));
      std::fprintf(stderr, "linea: saved %s (%.1f MiB in %.2f s)\n", path.c_str(),
                   mib(double(std::filesystem::file_size(path))),
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
  }

  TrainCommand cmd_;
  Config cfg_;
  Communicator& comm_;
  bool lead_;  // rank 0: logs, writes the run directory
  RunDir run_;
  Device device_;
  DType dtype_;
  std::unique_ptr<TrainingObjective> objective_;
  Module& model_;
  Sampler sampler_;
  std::unique_ptr<DataParallel> dp_;        // world size > 1
  std::unique_ptr<Optimizer> optimizer_;    // ZeRO-1: this rank's slices of the state
  std::unique_ptr<LrSchedule> schedule_;
  TrainerState state_;
  int64_t start_tokens_ = 0;  // tokens_seen when this process started
  double best_loss_ = std::numeric_limits<double>::infinity();  // train.keep_best
};

}  // namespace

namespace {

CommBackend comm_backend(DistBackend b) {
  switch (b) {
    case DistBackend::mpi: return CommBackend::mpi;
    case DistBackend::nccl: return CommBackend::nccl;
    case DistBackend::automatic: break;
  }
  return CommBackend::automatic;
}

int train_on(const TrainCommand& cmd, Config cfg, Communicator& comm, const ObjectiveFactory& make) {
  Trainer trainer(cmd, std::move(cfg), comm, make);
  if (cmd.dry_run) {
    if (comm.rank() == 0) trainer.dry_run();
    return 0;
  }
  std::string resumed = cmd.resume;
  if (cmd.resume == "auto")
    resumed = load_newest_intact(trainer.run_dir(), [&](const std::string& c) { trainer.resume_from(c); },
                                 comm.rank() == 0);
  else if (!cmd.resume.empty())
    trainer.resume_from(cmd.resume);
  if (resumed.empty() && !trainer.run_dir().checkpoints().empty())
    throw ConfigError(str_cat(trainer.run_dir().path(), ": the run directory already holds checkpoints, expected "
                              "--resume auto to continue it or a new --run-dir"));
  install_stop_handlers();
  return trainer.run();
}

// Without a recipe, `--run-dir DIR --resume auto` continues DIR with the config it last ran.
TrainCommand with_recipe(TrainCommand cmd) {
  if (!cmd.recipe.empty()) return cmd;
  LINEA_CHECK_T(ConfigError, !cmd.run_dir.empty() && !cmd.resume.empty(),
                "train: expected a RECIPE, or --run-dir DIR --resume auto to continue DIR with its config.yaml");
  cmd.recipe = cmd.run_dir + "/config.yaml";
  LINEA_CHECK_T(ConfigError, std::filesystem::is_regular_file(cmd.recipe), "train: ", cmd.recipe,
                " not found; expected a run directory written by linea train, or a RECIPE argument");
  std::fprintf(stderr, "linea: using %s\n", cmd.recipe.c_str());
  return cmd;
}

}  // namespace

int run_train(const TrainCommand& command) { return run_train(command, make_objective); }

int run_train(const TrainCommand& command, const ObjectiveFactory& make) {
  const TrainCommand cmd = with_recipe(command);
  std::vector<std::string> warnings;
  Config cfg = load_config(cmd.recipe, cmd.overrides, &warnings);
  for (const std::string& w : warnings) std::fprintf(stderr, "linea: warning: %s\n", w.c_str());
  if (cfg.train.threads > 0) omp_set_num_threads(int(cfg.train.threads));
  CommOptions options;
  options.timeout_s = cfg.dist.timeout_s;
  std::unique_ptr<Communicator> comm = make_communicator(comm_backend(cfg.dist.backend), cfg.train.device, options);
  if (comm->size() == 1) return train_on(cmd, std::move(cfg), *comm, make);
  // Several ranks: the first rank to fail ends the whole job with its message and exit
  // code (user errors 2, internal 1) instead of leaving its peers blocked in a collective.
  try {
    return train_on(cmd, std::move(cfg), *comm, make);
  } catch (const InternalError& e) {
    comm->abort(1, e.what());
  } catch (const Error& e) {
    comm->abort(2, e.what());
  } catch (const std::exception& e) {
    comm->abort(1, str_cat("internal: ", e.what()));
  }
  return 1;  // not reached: abort() ends the process (GCC does not see [[noreturn]] through the virtual call)
}

}  // namespace linea
