// Out-of-range and inconsistent values, each reported at the key that set them.
#include <gtest/gtest.h>

#include "configs/config.h"
#include "tests/configs/recipe_files.h"

using namespace linea;
using linea::testing::config_error;
using linea::testing::RecipeDir;
using linea::testing::contains;

namespace {

std::string error_of(const std::string& yaml) {
  return config_error([&] { parse_config(yaml, "r.yaml"); });
}

}  // namespace

TEST(ConfigValidate, RangesOfSingleValues) {
  EXPECT_EQ(error_of("optim:\n  lr: -0.1\n"), "r.yaml:2:7: optim.lr: expected a number >= 0, got -0.1");
  EXPECT_EQ(error_of("optim: {betas: [0.9, 1.0]}\n"),
            "r.yaml:1:22: optim.betas[1]: expected a number in [0, 1), got 1");
  EXPECT_EQ(error_of("optim: {betas: [-0.1, 0.9]}\n"),
            "r.yaml:1:17: optim.betas[0]: expected a number in [0, 1), got -0.1");
  EXPECT_EQ(error_of("data: {seq_len: 0}\n"), "r.yaml:1:17: data.seq_len: expected an integer > 0, got 0");
  EXPECT_EQ(error_of("train: {steps: -5}\n"), "r.yaml:1:16: train.steps: expected an integer >= 0, got -5");
  EXPECT_EQ(error_of("train: {keep_checkpoints: 0}\n"),
            "r.yaml:1:27: train.keep_checkpoints: expected an integer >= 1, got 0");
  EXPECT_EQ(error_of("model: {dropout: 1.5}\n"), "r.yaml:1:18: model.dropout: expected a number in [0, 1), got 1.5");
  EXPECT_EQ(error_of("model: {norm: {eps: 0}}\n"), "r.yaml:1:21: model.norm.eps: expected a number > 0, got 0");
  EXPECT_EQ(error_of("schedule: {plateau_factor: 1}\n"),
            "r.yaml:1:28: schedule.plateau_factor: expected a number in (0, 1), got 1");
  EXPECT_EQ(error_of("optim: {no_decay: [norm, '']}\n"),
            "r.yaml:1:26: optim.no_decay[1]: expected a non-empty name pattern, got ''");
  EXPECT_EQ(error_of("model: {attention: {rope_scaling: {factor: 0.5}}}\n"),
            "r.yaml:1:44: model.attention.rope_scaling.factor: expected a number >= 1, got 0.5");
  EXPECT_EQ(error_of("model: {type_vocab_size: 0}\n"),
            "r.yaml:1:26: model.type_vocab_size: expected an integer > 0, got 0");
  EXPECT_EQ(error_of("data: {mlm: {mask_ratio: 0}}\n"),
            "r.yaml:1:26: data.mlm.mask_ratio: expected a number in (0, 1), got 0");
  EXPECT_EQ(error_of("data: {mlm: {eval_mask_ratio: 1.0}}\n"),
            "r.yaml:1:31: data.mlm.eval_mask_ratio: expected a number in (0, 1), got 1");
  EXPECT_EQ(error_of("dist: {timeout_s: 0}\n"), "r.yaml:1:19: dist.timeout_s: expected a number > 0, got 0");
  EXPECT_EQ(error_of("optim: {muon_momentum: 1}\n"),
            "r.yaml:1:24: optim.muon_momentum: expected a number in [0, 1), got 1");
  EXPECT_EQ(error_of("optim: {muon_ns_steps: 0}\n"),
            "r.yaml:1:24: optim.muon_ns_steps: expected an integer > 0, got 0");
}

TEST(ConfigValidate, DivisibilityAndCrossSectionRules) {
  EXPECT_EQ(error_of("model:\n  hidden: 256\n  heads: 5\n  kv_heads: 5\n"),
            "r.yaml:3:10: model.heads: expected a divisor of model.hidden (256), got 5");
  EXPECT_EQ(error_of("model:\n  heads: 8\n  kv_heads: 3\n"),
            "r.yaml:3:13: model.kv_heads: expected a divisor of model.heads (8), got 3");
  EXPECT_EQ(error_of("train:\n  batch_size: 16\n  micro_batch_size: 6\n"),
            "r.yaml:3:21: train.micro_batch_size: expected a divisor of train.batch_size (16), got 6");
  // Only the whole was set: the error points at it.
  EXPECT_EQ(error_of("train:\n  batch_size: 10\n"),
            "r.yaml:2:15: train.micro_batch_size: expected a divisor of train.batch_size (10), got 16");
  EXPECT_EQ(error_of("model: {max_seq_len: 128}\ndata: {seq_len: 256}\n"),
            "r.yaml:2:17: data.seq_len: expected at most model.max_seq_len (128), got 256");
  EXPECT_EQ(error_of("schedule: {kind: wsd, decay_steps: 2000}\ntrain: {steps: 1000}\n"),
            "r.yaml:1:36: schedule.decay_steps: expected at most train.steps (1000), got 2000");
}

TEST(ConfigValidate, RuleOnADefaultPointsAtTheKeyThatWasSet) {
  // heads = 4 by default; hidden = 250 is set, so the error points at hidden.
  EXPECT_EQ(error_of("seed: 1\nmodel:\n  hidden: 250\n"),
            "r.yaml:3:11: model.heads: expected a divisor of model.hidden (250), got 4");
}

TEST(ConfigValidate, OverriddenValuesAreReportedAtTheOverride) {
  RecipeDir dir;
  std::string r = dir.write("r.yaml", "optim: {lr: 1.0e-3}\n");
  EXPECT_EQ(config_error([&] { load_config(r, {"optim.lr=-1"}); }),
            "--set optim.lr=-1: optim.lr: expected a number >= 0, got -1");
  EXPECT_EQ(config_error([&] { load_config(r, {"train.micro_batch_size=5"}); }),
            "--set train.micro_batch_size=5: train.micro_batch_size: expected a divisor of train.batch_size (16), got 5");
}
