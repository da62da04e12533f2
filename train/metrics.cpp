#include "train/metrics.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace linea {

MetricsLog::MetricsLog(const std::string& path) : file_(std::fopen(path.c_str(), "a")), path_(path) {
  if (!file_) throw Error(str_cat(path, ": cannot open the metrics log for writing"));
}

MetricsLog::~MetricsLog() {
  if (file_) std::fclose(file_);
}

namespace {
void write_line(std::FILE* f, const std::string& path, const nlohmann::json& j) {
  std::string line = j.dump() + "\n";
  if (std::fwrite(line.data(), 1, line.size(), f) != line.size() || std::fflush(f) != 0)
    throw Error(str_cat(path, ": writing the metrics log failed (disk full?)"));
}
// JSON has no NaN/inf: write them as null so readers fail loudly rather than misparse.
nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
}  // namespace

void MetricsLog::log_step(const StepMetrics& m) {
  write_line(file_, path_,
             {{"step", m.step}, {"loss", number(m.loss)}, {"lr", m.lr}, {"grad_norm", number(m.grad_norm)},
              {"tokens_per_s", m.tokens_per_s}, {"mfu", m.mfu}, {"peak_mem_bytes", m.peak_mem_bytes},
              {"elapsed_s", m.elapsed_s}});
}

void MetricsLog::log_eval(int64_t step, const std::string& split, double loss, double perplexity, int64_t tokens,
                          std::optional<double> mlm_accuracy,
                          const std::vector<std::pair<std::string, double>>& metrics) {
  nlohmann::json j = {{"step", step},
                      {"split", split},
                      {"loss", number(loss)},
                      {"perplexity", number(perplexity)},
                      {"tokens", tokens}};
  if (mlm_accuracy) j["mlm_accuracy"] = number(*mlm_accuracy);
  if (!metrics.empty()) {
    nlohmann::json m = nlohmann::json::object();
    for (const auto& [name, value] : metrics) m[name] = number(value);
    j["metrics"] = m;
  }
  write_line(file_, path_, j);
}

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  int64_t t = int64_t(s + 0.5);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", long(t / 3600), long(t % 3600 / 60));
  else if (t >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", long(t / 60), long(t % 60));
  else std::snprintf(buf, sizeof buf, "%lds", long(t));
  return buf;
}

std::string progress_line(const StepMetrics& m, int64_t total_steps) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "step %ld/%ld | loss %.4f | lr %.2e | gnorm %.3f | %.1fk tok/s | mfu %.1f%% | eta %s",
                long(m.step), long(total_steps), m.loss, m.lr, m.grad_norm, m.tokens_per_s / 1e3, 100 * m.mfu,
                format_duration(m.eta_s).c_str());
  return buf;
}

}  // namespace linea
