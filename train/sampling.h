// Choosing the next token from a row of logits: greedy (temperature 0, the first maximum on
// ties), or sampling at a temperature from the top_k most likely tokens and, within them,
// the smallest set whose probability reaches top_p (nucleus sampling, Holtzman et al.).
#pragma once
#include <cstdint>
#include <vector>

#include "core/rng.h"

namespace linea {

struct SamplingOptions {
  double temperature = 1.0;  // 0: greedy; > 0 divides the logits
  int64_t top_k = 0;         // 0: every token
  double top_p = 1.0;        // in (0, 1]; 1: no nucleus cut
};

// ConfigError naming the option for a negative temperature, a negative top_k or a top_p
// outside (0, 1].
void check_sampling_options(const SamplingOptions& o);

// One token id from logits[0, vocab); draws one uniform number from `gen` unless greedy.
int64_t sample_token(const float* logits, int64_t vocab, const SamplingOptions& o, Generator& gen);

}  // namespace linea
