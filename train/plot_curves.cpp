#include "train/plot_curves.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace linea {

PlotAxis parse_plot_axis(const std::string& name) {
  if (name == "step") return PlotAxis::step;
  if (name == "tokens") return PlotAxis::tokens;
  if (name == "time") return PlotAxis::time;
  throw ConfigError(str_cat("plot: --x ", name, ": expected step, tokens or time"));
}

std::vector<double> smooth_ema(const std::vector<double>& values, double weight) {
  std::vector<double> out;
  out.reserve(values.size());
  double last = 0, weight_pow = 1;
  for (double v : values) {
    last = last * weight + (1 - weight) * v;
    weight_pow *= weight;
    out.push_back(last / (1 - weight_pow));
  }
  return out;
}

namespace {

const nlohmann::json* number_field(const nlohmann::json& row, const char* name) {
  auto it = row.find(name);
  return it != row.end() && it->is_number() ? &*it : nullptr;
}

struct EvalRow {
  int64_t step;
  double loss;
};

}  // namespace

RunCurves read_run_curves(const std::string& run_dir, PlotAxis axis, double smoothing) {
  const std::string path = (std::filesystem::path(run_dir) / "metrics.jsonl").string();
  std::ifstream in(path);
  LINEA_CHECK_T(DataError, bool(in), "plot: ", path, ": cannot open, expected a run directory written by linea train");
  const char* x_field = axis == PlotAxis::tokens ? "tokens_seen" : axis == PlotAxis::time ? "elapsed_s" : "step";
  RunCurves curves;
  std::map<int64_t, double> train_x;  // step -> x of every train row, for the evaluations
  std::vector<EvalRow> evals;
  std::string line;
  for (int64_t lineno = 1; std::getline(in, line); ++lineno) {
    if (line.empty()) continue;
    const nlohmann::json row = nlohmann::json::parse(line, nullptr, false);
    LINEA_CHECK_T(DataError, row.is_object() && row.contains("step") && row["step"].is_number_integer(), "plot: ",
                  path, ":", lineno, ": not a metrics record, expected a JSON object with an integer step");
    const int64_t step = row["step"].get<int64_t>();
    const nlohmann::json* loss = number_field(row, "loss");  // null when the loss was not finite
    const auto split = row.find("split");
    if (split != row.end() && *split != "train") {
      if (loss) evals.push_back({step, loss->get<double>()});
      continue;
    }
    const nlohmann::json* x = number_field(row, x_field);
    LINEA_CHECK_T(DataError, x, "plot: ", path, ":", lineno, ": train row without ", x_field,
                  ", expected a run written by this linea version for --x ",
                  axis == PlotAxis::tokens ? "tokens" : "time");
    train_x[step] = x->get<double>();
    const nlohmann::json* speed = number_field(row, "tokens_per_s");
    if (loss) curves.train.push_back({x->get<double>(), loss->get<double>(), 0, speed ? speed->get<double>() : 0});
  }
  LINEA_CHECK_T(DataError, !curves.train.empty(), "plot: ", path,
                ": no train row with a loss, expected a run that logged at least one step");

  std::vector<double> losses;
  for (const TrainPoint& p : curves.train) losses.push_back(p.loss);
  const std::vector<double> smoothed = smooth_ema(losses, smoothing);
  for (size_t i = 0; i < smoothed.size(); ++i) curves.train[i].smoothed_loss = smoothed[i];

  for (const EvalRow& e : evals) {
    double x = double(e.step);
    if (axis != PlotAxis::step) {
      auto after = train_x.upper_bound(e.step);
      x = after == train_x.begin() ? 0 : std::prev(after)->second;
    }
    curves.eval.push_back({x, e.loss});
  }
  return curves;
}

}  // namespace linea
