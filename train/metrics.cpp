#include "train/metrics.h"

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "train/run_dir.h"

namespace linea {

namespace {

// Keeps the rows of steps <= `step` (and any line that is not a record, untouched) and
// returns the elapsed_s of the last kept train row. Rewritten atomically only when a row goes.
double truncate_after_step(const std::string& path, int64_t step) {
  std::ifstream in(path);
  if (!in) return 0;
  std::string line, kept;
  bool dropped = false;
  double elapsed = 0;
  while (std::getline(in, line)) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    const bool record = j.is_object() && j.contains("step") && j["step"].is_number_integer();
    if (record && j["step"].get<int64_t>() > step) {
      dropped = true;
      continue;
    }
    if (record && j.value("split", "train") == "train" && j.contains("elapsed_s") && j["elapsed_s"].is_number())
      elapsed = j["elapsed_s"].get<double>();
    kept += line + "\n";
  }
  if (dropped) write_file_atomically(path, kept);
  return elapsed;
}

}  // namespace

MetricsLog::MetricsLog(const std::string& path, int64_t resumed_step) : path_(path) {
  if (resumed_step > 0) resumed_elapsed_s_ = truncate_after_step(path, resumed_step);
  file_ = std::fopen(path.c_str(), "a");
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

// {"name": value, ...}, a value that is not finite as null.
nlohmann::json named(const std::vector<std::pair<std::string, double>>& values) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, value] : values) j[name] = number(value);
  return j;
}
}  // namespace

void MetricsLog::log_step(const StepMetrics& m) {
  nlohmann::json j = {{"step", m.step}, {"split", "train"}, {"tokens_seen", m.tokens_seen}, {"loss", number(m.loss)}, {"lr", m.lr}, {"grad_norm", number(m.grad_norm)},
                      {"tokens_per_s", m.tokens_per_s}, {"mfu", m.mfu}, {"peak_mem_bytes", m.peak_mem_bytes},
                      {"elapsed_s", m.elapsed_s}};
  if (!m.aux_losses.empty()) j["aux_losses"] = named(m.aux_losses);
  if (!m.metrics.empty()) j["metrics"] = named(m.metrics);
  write_line(file_, path_, j);
}

void MetricsLog::log_eval(int64_t step, const std::string& split, double loss, double perplexity, int64_t tokens,
                          std::optional<double> mlm_accuracy,
                          const std::vector<std::pair<std::string, double>>& metrics,
                          std::optional<double> accuracy, std::optional<double> example_accuracy) {
  nlohmann::json j = {{"step", step},
                      {"split", split},
                      {"loss", number(loss)},
                      {"perplexity", number(perplexity)},
                      {"tokens", tokens}};
  if (mlm_accuracy) j["mlm_accuracy"] = number(*mlm_accuracy);
  if (accuracy) j["accuracy"] = number(*accuracy);
  if (example_accuracy) j["example_accuracy"] = number(*example_accuracy);
  if (!metrics.empty()) j["metrics"] = named(metrics);
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
  std::snprintf(buf, sizeof buf, "step %ld/%ld | loss %.4f", long(m.step), long(total_steps), m.loss);
  std::string line = buf;
  for (const auto& [name, value] : m.aux_losses) {
    std::snprintf(buf, sizeof buf, " | %s %.4g", name.c_str(), value);
    line += buf;
  }
  std::snprintf(buf, sizeof buf, " | lr %.2e | gnorm %.3f | %.1fk tok/s | mfu %.1f%% | eta %s", m.lr, m.grad_norm,
                m.tokens_per_s / 1e3, 100 * m.mfu, format_duration(m.eta_s).c_str());
  return line + buf;
}

}  // namespace linea
