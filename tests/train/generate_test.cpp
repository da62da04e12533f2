// generate(): a batch of prompts of different lengths continues each prompt as it would
// alone, a sequence stops at eos or at the length limit while the others go on, and the
// same seed samples the same tokens.
#include <gtest/gtest.h>

#include "layers/decoder.h"
#include "support/tiny_models.h"
#include "train/generate.h"

using namespace linea;
using namespace linea::testing;

namespace {

Decoder& tiny_model() {
  static Decoder* model = [] {
    ModelConfig m = tiny_decoder_config();
    m.init_std = 0.3;
    auto* d = new Decoder(m);
    Generator gen(31);
    d->init_parameters(gen);
    return d;
  }();
  return *model;
}

const std::vector<std::vector<int32_t>> kPrompts = {{3, 14, 15, 9, 2, 6}, {5}, {35, 8, 9}};

}  // namespace

TEST(Generate, ABatchContinuesEachPromptAsAlone) {
  GenerationOptions o;
  o.max_new_tokens = 7;
  o.sampling.temperature = 0;
  const Generated batch = generate(tiny_model(), kPrompts, o);
  for (size_t b = 0; b < kPrompts.size(); ++b) {
    EXPECT_EQ(batch.tokens[b], generate(tiny_model(), {kPrompts[b]}, o).tokens[0]) << "prompt " << b;
    EXPECT_EQ(batch.tokens[b].size(), 7u);
  }
  EXPECT_EQ(batch.decode_steps, 6);
  // Sampling: each prompt has its own stream, so the same seed gives the same tokens.
  o.sampling = {0.9, 10, 0.95};
  o.seed = 8;
  EXPECT_EQ(generate(tiny_model(), kPrompts, o).tokens, generate(tiny_model(), kPrompts, o).tokens);
}

TEST(Generate, StopsAtEosAndAtTheLengthLimit) {
  GenerationOptions o;
  o.max_new_tokens = 7;
  o.sampling.temperature = 0;
  const Generated free_run = generate(tiny_model(), kPrompts, o);
  // eos = the first token prompt 0 produces: it stops there, the others are unchanged
  // up to where they would produce it.
  o.eos_id = free_run.tokens[0][0];
  const Generated stopped = generate(tiny_model(), kPrompts, o);
  EXPECT_EQ(stopped.tokens[0], std::vector<int32_t>{int32_t(o.eos_id)});
  for (size_t b = 1; b < kPrompts.size(); ++b) {
    const auto& full = free_run.tokens[b];
    const auto end = std::find(full.begin(), full.end(), o.eos_id);
    EXPECT_EQ(stopped.tokens[b], std::vector<int32_t>(full.begin(), end == full.end() ? end : end + 1)) << b;
  }
  // A limit of 8 tokens per sequence: prompt 0 (6 tokens) gets 2 new ones, prompt 1 gets 7.
  o.eos_id = -1;
  o.max_length = 8;
  const Generated limited = generate(tiny_model(), kPrompts, o);
  EXPECT_EQ(limited.tokens[0].size(), 2u);
  EXPECT_EQ(limited.tokens[1].size(), 7u);
  EXPECT_EQ(limited.tokens[2].size(), 5u);
  o.max_length = 5;
  EXPECT_THROW(generate(tiny_model(), kPrompts, o), ConfigError);  // prompt 0 is longer
  EXPECT_THROW(generate(tiny_model(), {{}}, GenerationOptions{}), ConfigError);
}
