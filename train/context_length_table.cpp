#include "train/context_length_table.h"

#include <cmath>
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "train/run_dir.h"

namespace linea {

double ContextLengthRow::perplexity() const { return std::exp(mean_nll); }

std::string format_context_length_table(const std::vector<ContextLengthRow>& rows) {
  char line[128];
  std::snprintf(line, sizeof line, "%7s  %9s  %9s  %11s\n", "context", "tokens", "mean nll", "perplexity");
  std::string out = line;
  for (const ContextLengthRow& r : rows) {
    std::snprintf(line, sizeof line, "%7ld  %9ld  %9.6f  %11.4f\n", long(r.context_length), long(r.tokens), r.mean_nll,
                  r.perplexity());
    out += line;
  }
  return out;
}

void write_context_length_file(const std::string& path, const std::vector<ContextLengthRow>& rows,
                               const ContextLengthSource& source) {
  check_output_folder("eval: --output", path);
  // JSON has no NaN/inf: a diverged model's rows say null rather than a number readers misparse.
  auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  std::string text;
  for (const ContextLengthRow& r : rows) {
    const nlohmann::json j = {{"context_length", r.context_length}, {"tokens", r.tokens},
                              {"mean_nll", number(r.mean_nll)},     {"perplexity", number(r.perplexity())},
                              {"checkpoint", source.checkpoint},    {"step", source.step},
                              {"data", source.data},                {"score_last", source.score_last},
                              {"stride", source.stride}};
    text += j.dump() + "\n";
  }
  write_file_atomically(path, text);
}

std::vector<ContextLengthRow> read_context_length_file(const std::string& path) {
  std::ifstream in(path);
  LINEA_CHECK_T(DataError, bool(in), "plot: ", path,
                ": cannot open, expected a file written by linea eval --context-lengths --output");
  std::vector<ContextLengthRow> rows;
  std::string line;
  for (int64_t lineno = 1; std::getline(in, line); ++lineno) {
    if (line.empty()) continue;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    const bool row = j.is_object() && j.contains("context_length") && j["context_length"].is_number_integer() &&
                     j["context_length"].get<int64_t>() >= 1 && j.contains("mean_nll") &&
                     (j["mean_nll"].is_number() || j["mean_nll"].is_null());
    LINEA_CHECK_T(DataError, row, "plot: ", path, ":", lineno,
                  ": not a context-length row, expected a JSON object with an integer context_length and a mean_nll "
                  "(linea eval --context-lengths --output; a run's metrics are plotted from its run directory)");
    if (j["mean_nll"].is_null()) continue;
    const auto tokens = j.find("tokens");
    rows.push_back({j["context_length"].get<int64_t>(),
                    tokens != j.end() && tokens->is_number_integer() ? tokens->get<int64_t>() : 0,
                    j["mean_nll"].get<double>()});
  }
  LINEA_CHECK_T(DataError, !rows.empty(), "plot: ", path,
                ": no context-length row with a mean_nll, expected lines written by linea eval --context-lengths");
  return rows;
}

}  // namespace linea
