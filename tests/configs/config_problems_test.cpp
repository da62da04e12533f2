// Every problem of a recipe reported at once, each on its own located line, up to a limit;
// and the one adjustment validation makes instead of refusing, reported as a warning.
#include <gtest/gtest.h>

#include <sstream>

#include "configs/config.h"
#include "tests/configs/recipe_files.h"

using namespace linea;
using linea::testing::config_error;
using linea::testing::RecipeDir;

TEST(ConfigProblems, ThreeIndependentErrorsAreReportedTogether) {
  RecipeDir dir;
  std::string r = dir.write("r.yaml",
                            "model:\n"
                            "  hiden: 128\n"          // unknown key
                            "optim:\n"
                            "  lr: fast\n"            // wrong type
                            "train: {steps: -5}\n");  // out of range
  EXPECT_EQ(config_error([&] { load_config(r); }),
            r + ":2:3: model.hiden: unknown key (did you mean 'hidden'?), expected one of kind, vocab_size, hidden, "
                "layers, heads, kv_heads, ffn, norm, attention, layer_pattern, layout, tie_embeddings, "
                "scale_embeddings, absolute_positions, dropout, init_std, max_seq_len, type_vocab_size, unpad, lora\n" +
                r + ":4:7: optim.lr: expected a number, got 'fast'\n" +
                r + ":5:16: train.steps: expected an integer >= 0, got -5");
}

TEST(ConfigProblems, AWrongValueKeepsItsDefaultAndGetsNoSecondError) {
  // heads: x leaves heads at 4, which divides 250 no more than x would: one error for heads,
  // and the bad section `dist` is skipped whole while the rest is still read.
  EXPECT_EQ(config_error([] { parse_config("model: {hidden: 250, heads: x}\ndist: 3\ndata: {seq_len: 0}\n", "r.yaml"); }),
            "r.yaml:1:29: model.heads: expected an integer, got 'x'\n"
            "r.yaml:2:7: dist: expected a map, got '3'\n"
            "r.yaml:3:17: data.seq_len: expected an integer > 0, got 0");
  // A list element that does not read leaves the whole default list.
  EXPECT_EQ(config_error([] { parse_config("optim: {betas: [0.5, x]}\nseed: y\n", "r.yaml"); }),
            "r.yaml:2:7: seed: expected an integer, got 'y'\n"  // schema order, not file order
            "r.yaml:1:22: optim.betas[1]: expected a number, got 'x'");
}

TEST(ConfigProblems, ListsTheFirst20AndCountsTheRest) {
  std::string yaml = "model:\n";
  for (int i = 0; i < 23; ++i) yaml += "  unknown_" + std::to_string(i) + ": 1\n";
  std::istringstream message(config_error([&] { parse_config(yaml, "r.yaml"); }));
  std::vector<std::string> lines;
  for (std::string line; std::getline(message, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 21u);
  EXPECT_EQ(lines[19].rfind("r.yaml:21:3: model.unknown_19: unknown key", 0), 0u) << lines[19];
  EXPECT_EQ(lines[20], "(3 more not shown)");
}

TEST(ConfigProblems, ALongWarmupForAShortRunIsShortenedWithALocatedWarning) {
  RecipeDir dir;
  std::string r = dir.write("r.yaml", "schedule: {kind: cosine, warmup_steps: 50}\ntrain: {steps: 1000}\n");
  std::vector<std::string> warnings;
  Config c = load_config(r, {"train.steps=20"}, &warnings);
  EXPECT_EQ(c.schedule.warmup_steps, 2);
  EXPECT_EQ(warnings, std::vector<std::string>{r + ":1:40: schedule.warmup_steps 50 >= train.steps 20 for a decaying "
                                                   "schedule; warming up for 2 steps instead"});
  // Schedules that do not decay to train.steps keep any warmup; so do long enough runs.
  warnings.clear();
  EXPECT_EQ(load_config(r, {"train.steps=20", "schedule.kind=constant"}, &warnings).schedule.warmup_steps, 50);
  EXPECT_EQ(load_config(r, {}, &warnings).schedule.warmup_steps, 50);
  EXPECT_TRUE(warnings.empty());
  // Without a list to fill, the warning is dropped, not raised.
  EXPECT_EQ(parse_config("schedule: {warmup_steps: 5}\ntrain: {steps: 5}\n", "r.yaml").schedule.warmup_steps, 0);
}

TEST(ConfigProblems, KeepingOneCheckpointKeepsTwoWithALocatedWarning) {
  // --resume auto falls back to the previous checkpoint when the newest is damaged.
  RecipeDir dir;
  std::string r = dir.write("r.yaml", "train: {keep_checkpoints: 1}\n");
  std::vector<std::string> warnings;
  EXPECT_EQ(load_config(r, {}, &warnings).train.keep_checkpoints, 2);
  EXPECT_EQ(warnings, std::vector<std::string>{r + ":1:27: train.keep_checkpoints 1 keeps 2 instead, so that a "
                                                   "damaged newest checkpoint leaves the previous one to resume from"});
  warnings.clear();
  EXPECT_EQ(load_config(r, {"train.keep_checkpoints=5"}, &warnings).train.keep_checkpoints, 5);
  EXPECT_TRUE(warnings.empty());
}
