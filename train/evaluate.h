// Perplexity evaluation of a decoder: mean token NLL over packed windows of a dataset, and
// the sliding-window variant of `linea eval` for text longer than one window.
#pragma once
#include <cstdint>

#include "data/causal_dataset.h"
#include "data/token_shards.h"
#include "layers/decoder.h"

namespace linea {

struct EvalResult {
  int64_t tokens = 0;  // predicted tokens scored
  double mean_nll = 0;
  double perplexity() const;
};

// The first `max_batches` batches of `micro_batch` consecutive windows (all when 0).
EvalResult evaluate_windows(Decoder& model, const PackedCausalDataset& data, int64_t max_batches, int64_t micro_batch,
                            Device device);

// Every token of the shards after the first is scored once: windows of seq_len + 1 tokens
// start every `stride` tokens and score only the targets no earlier window scored (the
// Hugging Face strided-perplexity scheme; stride == seq_len gives disjoint windows).
EvalResult evaluate_sliding(Decoder& model, const TokenShards& shards, int64_t seq_len, int64_t stride,
                            int64_t micro_batch, Device device);

}  // namespace linea
