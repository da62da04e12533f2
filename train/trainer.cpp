#include "train/trainer.h"

#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "autograd/variable.h"
#include "configs/config.h"
#include "core/allocator.h"
#include "core/rng.h"
#include "data/sampler.h"
#include "optim/clip.h"
#include "optim/optimizer.h"
#include "optim/schedule.h"
#include "train/bench_gemm.h"
#include "train/checkpoint.h"
#include "train/evaluate.h"
#include "train/metrics.h"
#include "train/objective.h"
#include "train/run_dir.h"
#include "train/signals.h"

namespace linea {
namespace {

// Dropout draws from its own stream so it never overlaps the initializer's.
constexpr uint64_t kDropoutStream = 0x9E3779B97F4A7C15ull;

std::unique_ptr<Optimizer> make_optimizer(const OptimConfig& o, const NamedParams& params) {
  // AdamW shrinks by lr_t * weight_decay; Composer's DecoupledAdamW by (lr_t / lr) * weight_decay,
  // which is AdamW's rule with weight_decay / lr.
  const double decay = o.kind == OptimKind::decoupled_adamw ? (o.lr > 0 ? o.weight_decay / o.lr : 0.0) : o.weight_decay;
  std::vector<ParamGroup> groups = make_param_groups(params, decay, o.no_decay);
  if (o.kind == OptimKind::sgd) {
    SGDOptions s;
    s.momentum = o.momentum;
    return std::make_unique<SGD>(std::move(groups), s);
  }
  AdamWOptions a;
  a.beta1 = o.betas[0];
  a.beta2 = o.betas[1];
  a.eps = o.eps;
  return std::make_unique<AdamW>(std::move(groups), a);
}

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

class Trainer {
 public:
  Trainer(const TrainCommand& cmd, Config cfg)
      : cmd_(cmd),
        cfg_(std::move(cfg)),
        run_(cmd.run_dir.empty() ? default_run_dir(cmd.recipe) : cmd.run_dir),
        device_(cfg_.train.device),
        dtype_(cfg_.train.precision == Precision::bf16 ? DType::bf16 : DType::f32),
        objective_(make_objective(cfg_, device_, dtype_)),
        model_(objective_->model()),
        sampler_(objective_->num_train_examples(), uint64_t(cfg_.seed)) {
    Generator init(uint64_t(cfg_.seed));
    objective_->init_parameters(init);
    optimizer_ = make_optimizer(cfg_.optim, model_.named_parameters());
    schedule_ = std::make_unique<LrSchedule>(schedule_options(cfg_));
    default_generator().set_state(uint64_t(cfg_.seed) ^ kDropoutStream, 0);
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
    state_ = s;
    sampler_.set_state({s.sampler_epoch, s.sampler_cursor});
    default_generator().set_state(s.rng_seed, s.rng_offset);
    schedule_->set_state(s.schedule_state);
    std::fprintf(stderr, "linea: resumed from %s at step %ld\n", path.c_str(), long(s.step));
  }

  int run() {
    write_file_atomically(run_.file("config.yaml"), dump_config(cfg_));
    MetricsLog log(run_.file("metrics.jsonl"));
    const int64_t B = cfg_.train.batch_size, micro = cfg_.train.micro_batch_size;
    const int64_t accum = B / micro;
    const double peak = gemm_peak_flops(device_, dtype_);
    const double flops_per_token = objective_->flops_per_token();
    NamedParams params = model_.named_parameters();
    reset_peak_memory(device_);
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t start_step = state_.step;
    auto window_t0 = t0;
    int64_t window_tokens = 0;

    while (state_.step < cfg_.train.steps) {
      const double lr = schedule_->lr_at(state_.step);
      optimizer_->zero_grad();
      const int64_t epoch = sampler_.state().epoch;
      std::vector<int64_t> indices = sampler_.next(B);
      double loss_sum = 0;
      int64_t step_tokens = 0;
      const Tensor scale = Tensor::full({}, 1.0 / double(accum), dtype_, device_);
      for (int64_t m = 0; m < accum; ++m) {
        std::vector<int64_t> part(indices.begin() + m * micro, indices.begin() + (m + 1) * micro);
        TrainingObjective::MicroBatchLoss l = objective_->train_loss(part, epoch);
        l.loss.backward(scale);
        loss_sum += l.loss.data().item();
        step_tokens += l.tokens;
      }
      const double loss = loss_sum / double(accum);
      const double gnorm = clip_grad_norm(params, cfg_.optim.grad_clip > 0 ? cfg_.optim.grad_clip : INFINITY);
      if (!std::isfinite(loss) || !std::isfinite(gnorm))
        throw Error(str_cat("step ", state_.step + 1, ": ", std::isfinite(loss) ? "gradient norm" : "loss",
                            " is not finite (loss ", loss, ", grad norm ", gnorm,
                            "); the last good checkpoint is kept; lower optim.lr or check the data"));
      optimizer_->step(lr);
      state_.step += 1;
      state_.tokens_seen += step_tokens;
      window_tokens += step_tokens;
      const bool last = state_.step == cfg_.train.steps;

      if (state_.step % cfg_.train.log_every == 0 || last) {
        const auto now = std::chrono::steady_clock::now();
        const double window_s = std::chrono::duration<double>(now - window_t0).count();
        StepMetrics m;
        m.step = state_.step;
        m.loss = loss;
        m.lr = lr;
        m.grad_norm = gnorm;
        m.tokens_per_s = double(window_tokens) / window_s;
        m.mfu = m.tokens_per_s * flops_per_token / peak;
        m.peak_mem_bytes = memory_stats(device_).peak_bytes;
        m.elapsed_s = std::chrono::duration<double>(now - t0).count();
        m.eta_s = m.elapsed_s / double(state_.step - start_step) * double(cfg_.train.steps - state_.step);
        log.log_step(m);
        if (cmd_.progress) std::fprintf(stderr, "%s\n", progress_line(m, cfg_.train.steps).c_str());
        window_t0 = now;
        window_tokens = 0;
      }
      const bool evaluated = cfg_.train.eval_every > 0 && (state_.step % cfg_.train.eval_every == 0 || last);
      if (evaluated) {
        EvalResult r = objective_->evaluate(cfg_.train.eval_batches, micro);
        log.log_eval(state_.step, "valid", r.mean_nll, r.perplexity(), r.tokens, r.accuracy, r.metrics);
        schedule_->observe(r.mean_nll);
        if (cmd_.progress)
          std::fprintf(stderr, "eval step %ld | valid loss %.4f | perplexity %.2f%s%s | %ld tokens\n", long(state_.step),
                       r.mean_nll, r.perplexity(),
                       r.accuracy ? str_cat(" | mlm accuracy ", *r.accuracy).c_str() : "",
                       format_eval_metrics(r).c_str(), long(r.tokens));
      }
      const bool stop = stop_requested();
      const bool saving = last || stop || (cfg_.train.ckpt_every > 0 && state_.step % cfg_.train.ckpt_every == 0);
      if (saving) checkpoint();
      if (evaluated || saving) {  // tokens/s measures training steps only
        window_t0 = std::chrono::steady_clock::now();
        window_tokens = 0;
      }
      if (stop) {
        std::fprintf(stderr, "linea: stopped at step %ld; resume with --resume auto\n", long(state_.step));
        return 0;
      }
    }
    if (start_step == cfg_.train.steps) std::fprintf(stderr, "linea: already trained for %ld steps\n", long(state_.step));
    return 0;
  }

  RunDir& run_dir() { return run_; }

 private:
  void checkpoint() {
    const SamplerState ss = sampler_.state();
    state_.sampler_epoch = ss.epoch;
    state_.sampler_cursor = ss.cursor;
    state_.rng_seed = default_generator().seed();
    state_.rng_offset = default_generator().offset();
    state_.schedule_state = schedule_->state();
    const std::string path = run_.checkpoint_path(state_.step);
    save_checkpoint(path, model_, optimizer_.get(), state_, dump_config(cfg_), 1);
    run_.set_latest(path);
    run_.prune(int(cfg_.train.keep_checkpoints));
  }

  TrainCommand cmd_;
  Config cfg_;
  RunDir run_;
  Device device_;
  DType dtype_;
  std::unique_ptr<TrainingObjective> objective_;
  Module& model_;
  Sampler sampler_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<LrSchedule> schedule_;
  TrainerState state_;
};

}  // namespace

int run_train(const TrainCommand& cmd) {
  Config cfg = load_config(cmd.recipe, cmd.overrides);
  if (cfg.train.threads > 0) omp_set_num_threads(int(cfg.train.threads));
  Trainer trainer(cmd, std::move(cfg));
  std::string resume = cmd.resume;
  if (resume == "auto") resume = trainer.run_dir().latest();
  if (resume.empty() && !trainer.run_dir().checkpoints().empty())
    throw ConfigError(str_cat(trainer.run_dir().path(), ": the run directory already holds checkpoints, expected "
                              "--resume auto to continue it or a new --run-dir"));
  if (!resume.empty()) trainer.resume_from(resume);
  install_stop_handlers();
  return trainer.run();
}

}  // namespace linea
