// prepare --synthetic's shards: the examples back to back plus one extra token, the loss mask
// on the answers, the task's attributes, and causal windows of seq_len L that are exactly the
// examples (targets scored only at the answers); a window length other than L refused; bad
// settings and existing shards refused before anything is written.
#include "data/synthetic_shards.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io/hdf5_file.h"
#include "data/causal_dataset.h"
#include "data/token_shards.h"
#include "support/temp_dir.h"
#include "support/testing.h"

using namespace linea;
using linea::testing::expect_error;
using linea::testing::TempDir;

namespace {

SyntheticShardOptions mqar_shards(const std::string& dir, int64_t examples = 20) {
  SyntheticShardOptions o;
  o.task.task = SyntheticTask::mqar;
  o.task.vocab_size = 256;
  o.task.seq_len = 64;
  o.task.pairs = 4;
  o.task.seed = 11;
  o.examples = examples;
  o.output_dir = dir;
  return o;
}

}  // namespace

TEST(SyntheticShards, WindowsOfTheExampleLengthAreTheExamples) {
  TempDir dir;
  const SyntheticShardOptions o = mqar_shards(dir.file("mqar"));
  const SyntheticShardSummary s = write_synthetic_shards(o);
  EXPECT_EQ(s.tokens, 20 * 64 + 1);
  EXPECT_EQ(s.scored, 20 * 4);
  TokenShards shards(o.output_dir);
  EXPECT_EQ(shards.total_tokens(), 20 * 64 + 1);
  EXPECT_EQ(shards.vocab_size(), 256);
  EXPECT_EQ(shards.num_documents(), 20);
  EXPECT_TRUE(shards.has_loss_mask());
  EXPECT_EQ(shards.synthetic_task(), "mqar");
  EXPECT_EQ(shards.example_tokens(), 64);
  const nlohmann::json settings = nlohmann::json::parse(shards.synthetic_settings());
  EXPECT_EQ(settings["pairs"], 4);
  EXPECT_EQ(settings["seed"], 11);
  EXPECT_EQ(settings["query_layout"], "zoology");
  EXPECT_EQ(settings["random_non_queries"], true);
  EXPECT_EQ(settings["examples"], 20);

  PackedCausalDataset data(std::move(shards), 64);
  ASSERT_EQ(data.num_examples(), 20);
  const CausalBatch batch = data.get_batch({0, 7, 19});
  const int64_t rows[3] = {0, 7, 19};
  for (int64_t b = 0; b < 3; ++b) {
    const SyntheticExample e = synthetic_example(o.task, rows[b]);
    int64_t scored = 0;
    for (int64_t t = 0; t < 64; ++t) {
      EXPECT_EQ(batch.inputs.at({b, t}), double(e.tokens[size_t(t)]));
      // The target of position t is token t + 1, scored where the example scores it; the
      // last position's target (the next example's first token) never is.
      const bool want_scored = t + 1 < 64 && e.scored[size_t(t + 1)];
      EXPECT_EQ(batch.targets.at({b, t}), want_scored ? double(e.tokens[size_t(t + 1)]) : double(kIgnoreTarget))
          << "example " << rows[b] << " position " << t;
      scored += want_scored;
    }
    EXPECT_EQ(scored, 4);
  }
}

TEST(SyntheticShards, OtherWindowLengthsAreRefused) {
  TempDir dir;
  const SyntheticShardOptions o = mqar_shards(dir.file("mqar"));
  write_synthetic_shards(o);
  expect_error<ConfigError>([&] { PackedCausalDataset(TokenShards(o.output_dir), 128); },
                            "causal dataset: windows of seq_len 128 every 128 tokens do not fit the 64-token "
                            "examples of the synthetic mqar shards in");
  expect_error<ConfigError>([&] { check_windows_are_examples(TokenShards(o.output_dir), 64, 32, "eval"); },
                            "expected seq_len 64 and stride 64 (one window per example)");
}

TEST(SyntheticShards, BadSettingsAndExistingShardsWriteNothing) {
  TempDir dir;
  SyntheticShardOptions bad = mqar_shards(dir.file("bad"));
  bad.task.pairs = 17;
  expect_error<ConfigError>([&] { write_synthetic_shards(bad); }, "prepare: --synthetic mqar: 17 pairs need 68 tokens");
  EXPECT_FALSE(std::filesystem::exists(bad.output_dir));
  bad = mqar_shards(dir.file("bad"), 0);
  expect_error<ConfigError>([&] { write_synthetic_shards(bad); }, "0 examples, expected >= 1");
  EXPECT_FALSE(std::filesystem::exists(bad.output_dir));

  SyntheticShardOptions o = mqar_shards(dir.file("mqar"));
  write_synthetic_shards(o);
  const Tensor before = TokenShards(o.output_dir).read(0, 64);
  o.task.seed = 12;
  expect_error<DataError>([&] { write_synthetic_shards(o); }, "already holds 1 shards, expected --force");
  EXPECT_EQ(TokenShards(o.output_dir).read(0, 64).to_vector(), before.to_vector());
  o.force = true;
  write_synthetic_shards(o);
  EXPECT_NE(TokenShards(o.output_dir).read(0, 64).to_vector(), before.to_vector());
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(o.output_dir), std::filesystem::directory_iterator()), 1);
}

TEST(SyntheticShards, TrainAndTestSetsOfOneTaskShareTheirVocabularyIdentity) {
  TempDir dir;
  SyntheticShardOptions train = mqar_shards(dir.file("train")), test = mqar_shards(dir.file("test"), 5);
  test.task.seed = 99;
  write_synthetic_shards(train);
  write_synthetic_shards(test);
  EXPECT_EQ(TokenShards(train.output_dir).tokenizer_sha256(), TokenShards(test.output_dir).tokenizer_sha256());
  SyntheticShardOptions stack = mqar_shards(dir.file("stack"));
  stack.task.task = SyntheticTask::stack;
  stack.task.pairs = 0;
  write_synthetic_shards(stack);
  EXPECT_NE(TokenShards(stack.output_dir).tokenizer_sha256(), TokenShards(train.output_dir).tokenizer_sha256());
  EXPECT_EQ(TokenShards(stack.output_dir).tokenizer_kind(), "synthetic");
  EXPECT_EQ(TokenShards(stack.output_dir).tokenizer(), "synthetic stack vocab 256");
}
