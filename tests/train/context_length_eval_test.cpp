// Perplexity against context length on real text (Ruth, in shards of 777 tokens so that
// windows cross shards): every length scores the same targets, each with exactly the context
// the header documents (checked against one forward per target), batching changes nothing,
// and the option and data errors.
#include "train/context_length_eval.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "data/prepare.h"
#include "core/rng.h"
#include "layers/decoder.h"
#include "support/kjv_text.h"
#include "support/temp_dir.h"
#include "support/testing.h"

using namespace linea;
using linea::testing::expect_error;
using linea::testing::KjvCorpus;
using linea::testing::TempDir;

namespace {

// Ruth tokenized by the Genesis tokenizer (vocab 500), written once per test process.
const TokenShards& ruth_shards() {
  static TempDir dir;
  static const TokenShards shards = [] {
    linea::testing::write_file(dir.file("ruth.txt"), linea::testing::bible_text("Ruth1:1-Ruth4:22"));
    PrepareOptions o;
    o.tokenizer_model = KjvCorpus::get().model_path;
    o.input_files = {dir.file("ruth.txt")};
    o.output_dir = dir.file("ruth");
    o.shard_tokens = 777;
    prepare_shards(o);
    return TokenShards(o.output_dir);
  }();
  return shards;
}

// A 2-layer decoder over the 500-piece vocabulary, T <= 32, initialized wide enough that
// its predictions depend on the context (a 0.02 init predicts nearly uniformly).
std::unique_ptr<Decoder> context_sensitive_decoder() {
  ModelConfig opt;
  opt.vocab_size = 500;
  opt.hidden = 32;
  opt.layers = 2;
  opt.heads = 4;
  opt.kv_heads = 2;
  opt.ffn.hidden = 48;
  opt.max_seq_len = 32;
  opt.init_std = 0.3;
  auto model = std::make_unique<Decoder>(opt);
  Generator gen(11);
  model->init_parameters(gen);
  return model;
}

// The NLL of token ids[p] after exactly the `context` tokens before it, by one forward.
double nll_after(Decoder& model, const TokenShards& shards, int64_t p, int64_t context) {
  const Tensor ids = shards.read(p - context, context + 1);
  const std::vector<double> tokens = ids.to_vector();
  const std::vector<double> logits = model.forward(ids.narrow(0, 0, context).reshape({1, context})).data().to_vector();
  const int64_t vocab = model.vocab_size();
  const double* last = logits.data() + (context - 1) * vocab;
  double max = last[0], sum = 0;
  for (int64_t v = 0; v < vocab; ++v) max = std::max(max, last[v]);
  for (int64_t v = 0; v < vocab; ++v) sum += std::exp(last[v] - max);
  return std::log(sum) + max - last[int64_t(tokens[size_t(context)])];
}

// What the header promises at length len: the mean over the last s tokens of every window,
// the j-th of them after exactly len - s + 1 + j tokens.
double brute_force_mean_nll(Decoder& model, const TokenShards& shards, const ContextLengthOptions& opt, int64_t len) {
  NoGradGuard ng;
  const int64_t s = opt.targets_per_window();
  double sum = 0;
  int64_t n = 0;
  for (int64_t e : context_window_ends(shards.total_tokens(), opt.lengths.back(), opt.window_stride()))
    for (int64_t j = 0; j < s; ++j, ++n) sum += nll_after(model, shards, e - s + 1 + j, len - s + 1 + j);
  return sum / double(n);
}

}  // namespace

TEST(ContextLengthEval, ParsesSortedLengths) {
  EXPECT_EQ(parse_context_lengths("256,64,128"), (std::vector<int64_t>{64, 128, 256}));
  EXPECT_EQ(parse_context_lengths("7"), (std::vector<int64_t>{7}));
  const std::string expected = ", expected a comma-separated list of lengths such as 128,256,512";
  expect_error<ConfigError>([] { parse_context_lengths(""); }, "eval: --context-lengths '': a length is missing" + expected);
  expect_error<ConfigError>([] { parse_context_lengths("64,"); }, "'64,': a length is missing");
  expect_error<ConfigError>([] { parse_context_lengths("64,,128"); }, "'64,,128': '' is not an integer >= 1" + expected);
  expect_error<ConfigError>([] { parse_context_lengths("64,1k"); }, "'1k' is not an integer >= 1");
  expect_error<ConfigError>([] { parse_context_lengths("0,64"); }, "'0' is not an integer >= 1");
  expect_error<ConfigError>([] { parse_context_lengths("-64"); }, "'-64' is not an integer >= 1");
  expect_error<ConfigError>([] { parse_context_lengths("99999999999999999999"); }, "is not an integer >= 1");
  expect_error<ConfigError>([] { parse_context_lengths("128,64,128"); }, "'128,64,128': 128 is given twice" + expected);
}

TEST(ContextLengthEval, DefaultsAndOptionErrors) {
  ContextLengthOptions opt;
  opt.lengths = {5, 8, 16};
  EXPECT_EQ(opt.targets_per_window(), 3);  // half of 5, rounded up
  EXPECT_EQ(opt.window_stride(), 16);
  check_context_length_options(opt, 16);
  expect_error<ConfigError>([&] { check_context_length_options(opt, 12); },
                            "eval: --context-lengths: 16 exceeds the model's max_seq_len 12, expected lengths <= 12");
  opt.score_last = 6;
  expect_error<ConfigError>([&] { check_context_length_options(opt, 16); },
                            "eval: --score-last 6 exceeds the shortest context length 5, expected 1 .. 5 targets");
  opt.score_last = 5;
  opt.stride = 4;
  expect_error<ConfigError>([&] { check_context_length_options(opt, 16); },
                            "eval: --stride 4 is shorter than the 5 targets scored per window (--score-last)");
  opt.stride = 5;
  check_context_length_options(opt, 16);
}

TEST(ContextLengthEval, WindowEnds) {
  EXPECT_EQ(context_window_ends(20, 8, 5), (std::vector<int64_t>{8, 13, 18}));
  EXPECT_EQ(context_window_ends(9, 8, 1), (std::vector<int64_t>{8}));
  EXPECT_TRUE(context_window_ends(8, 8, 1).empty());
}

TEST(ContextLengthEval, SameTargetsWithTheDocumentedContextAtEveryLength) {
  const TokenShards& shards = ruth_shards();
  ASSERT_GT(shards.num_shards(), 3);
  const std::unique_ptr<Decoder> decoder = context_sensitive_decoder();
  Decoder& model = *decoder;
  for (int64_t score_last : {int64_t(3), int64_t(1)}) {
    ContextLengthOptions opt;
    opt.lengths = {4, 8, 17, 32};
    opt.score_last = score_last;
    opt.stride = 131;  // a subset of the windows keeps the per-target forwards quick
    const std::vector<ContextLengthRow> rows = evaluate_context_lengths(model, shards, opt, Device::cpu());
    const int64_t windows = int64_t(context_window_ends(shards.total_tokens(), 32, 131).size());
    ASSERT_GT(windows, 20);
    ASSERT_EQ(rows.size(), 4u);
    for (size_t i = 0; i < rows.size(); ++i) {
      SCOPED_TRACE("score_last " + std::to_string(score_last) + ", length " + std::to_string(opt.lengths[i]));
      EXPECT_EQ(rows[i].context_length, opt.lengths[i]);
      EXPECT_EQ(rows[i].tokens, windows * score_last);
      const double want = brute_force_mean_nll(model, shards, opt, opt.lengths[i]);
      EXPECT_NEAR(rows[i].mean_nll, want, 1e-5 * want);
    }
    // The model does read its context, so the lengths above were told apart.
    EXPECT_GT(std::abs(rows.front().mean_nll - rows.back().mean_nll), 1e-3);
  }
  EXPECT_TRUE(model.is_training());  // evaluation restores the mode
}

TEST(ContextLengthEval, BatchingRegroupsTheSameWindows) {
  const TokenShards& shards = ruth_shards();
  const std::unique_ptr<Decoder> decoder = context_sensitive_decoder();
  Decoder& model = *decoder;
  ContextLengthOptions opt;
  opt.lengths = {8, 16};  // default S 4
  opt.stride = 40;
  opt.micro_batch = 1;
  const std::vector<ContextLengthRow> ones = evaluate_context_lengths(model, shards, opt, Device::cpu());
  // Batches of a few windows: the f32 sum of a batch's token losses in the cross-entropy
  // would drift by ~1e-4 over the thousands of an automatic batch, not the windows' scores.
  opt.micro_batch = 7;
  const std::vector<ContextLengthRow> sevens = evaluate_context_lengths(model, shards, opt, Device::cpu());
  ASSERT_EQ(ones.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(ones[i].tokens, (shards.total_tokens() - 16 + 39) / 40 * 4);
    EXPECT_EQ(sevens[i].tokens, ones[i].tokens);
    EXPECT_NEAR(sevens[i].mean_nll, ones[i].mean_nll, 1e-6 * ones[i].mean_nll);
  }
}

TEST(ContextLengthEval, Errors) {
  const TokenShards& shards = ruth_shards();
  const std::unique_ptr<Decoder> decoder = context_sensitive_decoder();
  Decoder& model = *decoder;
  ContextLengthOptions opt;
  opt.lengths = {8, 64};
  expect_error<ConfigError>([&] { evaluate_context_lengths(model, shards, opt, Device::cpu()); },
                            "64 exceeds the model's max_seq_len 32");
  TempDir dir;
  linea::testing::write_file(dir.file("verse.txt"), linea::testing::bible_text("Ge1:1-Ge1:1"));
  PrepareOptions o;
  o.tokenizer_model = KjvCorpus::get().model_path;
  o.input_files = {dir.file("verse.txt")};
  o.output_dir = dir.file("verse");
  const int64_t tokens = prepare_shards(o).num_tokens;
  ASSERT_LT(tokens, 32);
  opt.lengths = {8, 32};
  expect_error<DataError>([&] { evaluate_context_lengths(model, TokenShards(o.output_dir), opt, Device::cpu()); },
                          "eval: " + o.output_dir + " holds " + std::to_string(tokens) +
                              " tokens, expected at least 33 for --context-lengths up to 32");
}
