// The result of `linea eval --context-lengths`: one row per context length, printed as a
// table and written as JSON lines (--output) that `linea plot` draws as perplexity against
// context length. Kept apart from the evaluation so that plot reads it without a model.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace linea {

struct ContextLengthRow {
  int64_t context_length = 0;
  int64_t tokens = 0;  // targets scored: the same targets at every length
  double mean_nll = 0;
  double perplexity() const;
};

// What every line of the file records besides its row, so that a file describes itself.
struct ContextLengthSource {
  std::string checkpoint, data;
  int64_t step = 0;        // the checkpoint's optimizer step
  int64_t score_last = 0;  // targets per window (S)
  int64_t stride = 0;      // tokens between window starts
};

// A header and one aligned line per row: context, tokens, mean nll, perplexity.
std::string format_context_length_table(const std::vector<ContextLengthRow>& rows);

// One JSON object per row: {"context_length", "tokens", "mean_nll", "perplexity" (null when
// not finite), then the source's "checkpoint", "step", "data", "score_last", "stride"}.
// Written atomically; ConfigError naming --output when its folder does not exist.
void write_context_length_file(const std::string& path, const std::vector<ContextLengthRow>& rows,
                               const ContextLengthSource& source);

// The rows of such a file, in file order; rows whose mean_nll is null are left out. DataError
// (path:line) for a missing file, a line that is not such a row, or no row with a mean_nll.
std::vector<ContextLengthRow> read_context_length_file(const std::string& path);

}  // namespace linea
