// Perplexity against context length (`linea eval --context-lengths`): the same target tokens
// scored with contexts of each length, so that the rows of the table compare.
//
// Windows of Lmax + 1 tokens (Lmax the longest length) start every `stride` tokens of the
// shards' stream; the last S tokens of each window are its targets, the same at every length.
// At length L the forward of a window ending at token e reads the L tokens before e,
// ids[e-L .. e-1], and scores only those S targets: the j-th of them (j = 0 .. S-1) sees
// L - S + 1 + j tokens of context. A row thus averages over contexts L - S + 1 .. L; S = 1
// gives exactly L, at one forward per target. The default S, half the shortest length
// (rounded up), keeps that spread within a factor 2 at the shortest length and tighter above,
// while one forward per window and length scores S targets. Context runs across document
// boundaries, as in evaluate_sliding: the stream is read as one text.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/token_shards.h"
#include "layers/causal_lm.h"
#include "train/context_length_table.h"

namespace linea {

struct ContextLengthOptions {
  std::vector<int64_t> lengths;  // ascending, distinct, each >= 1 (parse_context_lengths)
  int64_t score_last = 0;        // S, targets per window; 0: (shortest length + 1) / 2
  int64_t stride = 0;            // tokens between window starts; 0: the longest length (disjoint)
  int64_t micro_batch = 0;       // windows per forward; 0: batch_tokens / L at each length L
  int64_t batch_tokens = 8192;

  int64_t targets_per_window() const;  // S with its default resolved
  int64_t window_stride() const;       // the stride with its default resolved
};

// "128,256,64" -> {64, 128, 256}. ConfigError naming --context-lengths for an empty list, an
// entry that is not an integer >= 1, or one given twice.
std::vector<int64_t> parse_context_lengths(const std::string& text);

// ConfigError naming the option at fault: a length beyond max_seq_len, --score-last beyond the
// shortest length, or --stride shorter than S (targets would be scored twice).
void check_context_length_options(const ContextLengthOptions& opt, int64_t max_seq_len);

// The last target of every window in a stream of total_tokens: longest, longest + stride, ...
// while inside the stream (empty when the stream is shorter than longest + 1 tokens).
std::vector<int64_t> context_window_ends(int64_t total_tokens, int64_t longest, int64_t stride);

// One row per length, each over the same windows_ends.size() * S targets. DataError when the
// shards hold fewer than Lmax + 1 tokens.
std::vector<ContextLengthRow> evaluate_context_lengths(CausalLM& model, const TokenShards& shards,
                                                       const ContextLengthOptions& opt, Device device);

}  // namespace linea
