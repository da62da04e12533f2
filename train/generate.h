// Text generation from a causal LM: a parallel prefill of every prompt (of any lengths) into
// the model's decoding state, then one batched step per new token with each layer's cache
// (layers/causal_lm.h), sampling by train/sampling.h. `linea generate` wraps it with the
// checkpoint's own tokenizer.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "layers/causal_lm.h"
#include "train/sampling.h"

namespace linea {

struct GenerationOptions {
  int64_t max_new_tokens = 128;
  SamplingOptions sampling;
  uint64_t seed = 0;      // sequence b samples from Generator(seed, b << 40): batches do not interact
  int64_t eos_id = -1;    // a sequence that produces it stops (the token is kept); -1: none
  int64_t max_length = 0; // prompt + generated tokens per sequence; 0: unlimited
};

struct Generated {
  std::vector<std::vector<int32_t>> tokens;  // the new tokens of each prompt
  double prefill_seconds = 0, decode_seconds = 0;
  int64_t decode_steps = 0;  // batched steps after the prefill
};

// prompts: token ids, each non-empty and within max_length. `on_token(b, id)` sees every
// token as it is chosen (for streaming). Runs without gradients.
Generated generate(CausalLM& model, const std::vector<std::vector<int32_t>>& prompts, const GenerationOptions& o,
                   const std::function<void(size_t, int32_t)>& on_token = {});

struct GenerateCommand {
  std::string checkpoint;            // a checkpoint, a run directory or its `latest` file
  std::vector<std::string> prompts;  // --prompt, repeatable: one batch
  std::string prompt_file;           // one prompt per non-empty line
  std::string tokenizer;             // "": the one the checkpoint's training data came from
  int64_t max_new_tokens = 128;
  SamplingOptions sampling;
  uint64_t seed = 0;
  bool stream = false;               // print tokens as they come (one prompt)
  std::string device;                // "": the recipe's train.device
};
int run_generate(const GenerateCommand& cmd);

}  // namespace linea
