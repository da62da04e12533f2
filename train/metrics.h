// Training metrics: one JSON object per line in RUN_DIR/metrics.jsonl and the one-line
// progress display (step/total, loss, lr, grad norm, tokens/s, MFU, ETA).
#pragma once
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace linea {

struct StepMetrics {
  int64_t step = 0;
  int64_t tokens_seen = 0;  // training tokens consumed up to and including this step (global)
  double loss = 0, lr = 0, grad_norm = 0, tokens_per_s = 0, mfu = 0, elapsed_s = 0;
  double eta_s = 0;  // display only
  size_t peak_mem_bytes = 0;
  // The objective's named auxiliary losses and metrics (train/objective.h), written as the
  // objects "aux_losses" and "metrics" when there are any.
  std::vector<std::pair<std::string, double>> aux_losses, metrics;
};

class MetricsLog {
 public:
  // Appends to path. A resumed run passes the step it resumed at: rows of later steps (logged
  // after that checkpoint by a run that was then killed) are dropped first, so every step
  // appears once.
  explicit MetricsLog(const std::string& path, int64_t resumed_step = 0);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  // Training time (elapsed_s) of the last kept train row: a resumed run continues its clock.
  double resumed_elapsed_s() const { return resumed_elapsed_s_; }

  void log_step(const StepMetrics& m);
  // Encoders add mlm_accuracy (perplexity is then the MLM perplexity over masked tokens);
  // fine-tuning adds its task metrics as the object "metrics": {name: value, ...}; decoders on
  // masked shards add accuracy (over scored targets), synthetic tasks also example_accuracy.
  void log_eval(int64_t step, const std::string& split, double loss, double perplexity, int64_t tokens,
                std::optional<double> mlm_accuracy = std::nullopt,
                const std::vector<std::pair<std::string, double>>& metrics = {},
                std::optional<double> accuracy = std::nullopt, std::optional<double> example_accuracy = std::nullopt);

 private:
  std::FILE* file_ = nullptr;
  std::string path_;
  double resumed_elapsed_s_ = 0;
};

// "step 120/2000 | loss 4.1234 | lr 9.5e-04 | gnorm 0.81 | 12.3k tok/s | mfu 41.2% | eta 3m12s",
// each aux loss following the loss ("| moe_balance 0.0123").
std::string progress_line(const StepMetrics& m, int64_t total_steps);
std::string format_duration(double seconds);

}  // namespace linea
