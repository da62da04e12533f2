// Recipe files: `base:` inheritance (merge rules, relative paths, cycles), `--set`
// overrides, and files that are missing, malformed or not recipes.
#include <gtest/gtest.h>

#include "configs/config.h"
#include "tests/configs/recipe_files.h"

using namespace linea;
using linea::testing::config_error;
using linea::testing::RecipeDir;
using linea::testing::contains;

TEST(RecipeTree, BaseMergesMapsDeeplyChildWinsListsReplace) {
  RecipeDir dir;
  dir.write("common.yaml",
            "seed: 7\n"
            "model:\n"
            "  hidden: 512\n"
            "  heads: 8\n"
            "  kv_heads: 2\n"
            "  norm: {kind: layernorm, eps: 1.0e-6}\n"
            "  layer_pattern: [kda, kda, mla]\n"
            "optim: {lr: 3.0e-4, no_decay: [norm, bias]}\n");
  std::string child = dir.write("recipes/small.yaml",
                                "base: ../common.yaml\n"
                                "model:\n"
                                "  hidden: 256\n"
                                "  norm: {eps: 1.0e-5}\n"
                                "  layer_pattern: [softmax]\n"
                                "optim: {weight_decay: 0.0}\n");
  Config c = load_config(child);
  EXPECT_EQ(c.seed, 7);
  EXPECT_EQ(c.model.hidden, 256);  // child wins
  EXPECT_EQ(c.model.heads, 8);     // inherited
  EXPECT_EQ(c.model.kv_heads, 2);
  EXPECT_EQ(c.model.norm.kind, NormKind::layernorm);  // maps merge key by key
  EXPECT_DOUBLE_EQ(c.model.norm.eps, 1e-5);
  EXPECT_EQ(c.model.layer_pattern, std::vector<AttentionKind>{AttentionKind::softmax});  // lists replace
  EXPECT_DOUBLE_EQ(c.optim.lr, 3e-4);
  EXPECT_DOUBLE_EQ(c.optim.weight_decay, 0.0);
  EXPECT_EQ(c.optim.no_decay, (std::vector<std::string>{"norm", "bias"}));
  EXPECT_EQ(c.train.steps, TrainConfig{}.steps);  // untouched keys keep their defaults
}

TEST(RecipeTree, BaseChainsResolveRelativeToEachFile) {
  RecipeDir dir;
  dir.write("a/root.yaml", "seed: 1\ntrain: {steps: 10, batch_size: 8, micro_batch_size: 8}\n");
  dir.write("a/b/mid.yaml", "base: ../root.yaml\nseed: 2\ntrain: {steps: 20}\n");
  std::string leaf = dir.write("c/leaf.yaml", "base: ../a/b/mid.yaml\ntrain: {micro_batch_size: 4}\n");
  Config c = load_config(leaf);
  EXPECT_EQ(c.seed, 2);
  EXPECT_EQ(c.train.steps, 20);
  EXPECT_EQ(c.train.batch_size, 8);
  EXPECT_EQ(c.train.micro_batch_size, 4);
}

TEST(RecipeTree, ChildCanClearAnOptionalSectionOfItsBase) {
  RecipeDir dir;
  dir.write("base.yaml", "model:\n  attention: {rope_scaling: {factor: 16}}\ndata: {tokenizer: tok.model}\n");
  std::string child = dir.write("child.yaml", "base: base.yaml\nmodel:\n  attention: {rope_scaling: null}\n");
  EXPECT_TRUE(load_config(dir.path("base.yaml")).model.attention.rope_scaling.has_value());
  Config c = load_config(child);
  EXPECT_FALSE(c.model.attention.rope_scaling.has_value());
  EXPECT_EQ(c.data.tokenizer, std::optional<std::string>("tok.model"));
}

TEST(RecipeTree, InheritanceCycleNamesTheChain) {
  RecipeDir dir;
  std::string a = dir.write("a.yaml", "seed: 1\nbase: sub/b.yaml\n");
  dir.write("sub/b.yaml", "base: ../a.yaml\n");
  std::string msg = config_error([&] { load_config(a); });
  EXPECT_TRUE(contains(msg, dir.path("sub/b.yaml") + ":1:7: base: inheritance cycle "));
  EXPECT_TRUE(contains(msg, a + " -> " + dir.path("sub/b.yaml") + " -> " + a));

  std::string self = dir.write("self.yaml", "base: ./self.yaml\n");
  EXPECT_TRUE(contains(config_error([&] { load_config(self); }), "inheritance cycle " + self + " -> " + self));
}

TEST(RecipeTree, MissingFilesAreNamed) {
  RecipeDir dir;
  EXPECT_EQ(config_error([&] { load_config(dir.path("nope.yaml")); }),
            dir.path("nope.yaml") + ": cannot read recipe (no such file)");
  std::string child = dir.write("child.yaml", "seed: 3\nbase: gone.yaml\n");
  EXPECT_EQ(config_error([&] { load_config(child); }),
            child + ":2:7: base: cannot read '" + dir.path("gone.yaml") + "' (no such file)");
  dir.write("folder/x.yaml", "seed: 1\n");
  EXPECT_TRUE(contains(config_error([&] { load_config(dir.path("folder")); }), "is a directory"));
  std::string bad_base = dir.write("bad_base.yaml", "base: [a.yaml]\n");
  EXPECT_EQ(config_error([&] { load_config(bad_base); }),
            bad_base + ":1:7: base: expected a recipe path relative to this file");
}

TEST(RecipeTree, MalformedYamlGivesTheParserPosition) {
  RecipeDir dir;
  std::string bad = dir.write("bad.yaml", "model:\n  hidden: 256\n  heads: [4, 8\ntrain: {steps: 1}\n");
  std::string msg = config_error([&] { load_config(bad); });
  EXPECT_TRUE(contains(msg, bad + ":4:6: malformed YAML ("));  // where yaml-cpp gave up on the list
  // A malformed base is reported in the base file.
  dir.write("broken.yaml", "optim: {lr: 1\n");
  std::string child = dir.write("child.yaml", "base: broken.yaml\n");
  EXPECT_TRUE(contains(config_error([&] { load_config(child); }), dir.path("broken.yaml") + ":"));
}

TEST(RecipeTree, DocumentsThatAreNotRecipes) {
  RecipeDir dir;
  std::string empty = dir.write("empty.yaml", "# nothing here\n");
  EXPECT_EQ(config_error([&] { load_config(empty); }),
            empty + ": empty recipe, expected a map of sections (model, data, optim, ...)");
  std::string list = dir.write("list.yaml", "- seed: 1\n");
  EXPECT_EQ(config_error([&] { load_config(list); }),
            list + ":1:1: expected a map of sections (model, data, optim, ...) at the top level");
  std::string dup = dir.write("dup.yaml", "optim:\n  lr: 1.0\n  lr: 2.0\n");
  EXPECT_EQ(config_error([&] { load_config(dup); }),
            dup + ":3:3: optim.lr: duplicate key (first at " + dup + ":2:3), expected each key once");
}

TEST(RecipeTree, OverridesSetScalarsListsAndMaps) {
  RecipeDir dir;
  std::string r = dir.write("r.yaml", "model: {hidden: 256, ffn: {kind: swiglu, hidden: 688}}\noptim: {lr: 1.0e-3}\n");
  Config c = load_config(r, {"optim.lr=3e-4", "optim.betas=[0.8, 0.99]", "model.ffn={kind: mlp}",
                             " train.device = cuda:1", "model.attention.rope_scaling={factor: 4}",
                             "data.tokenizer=", "model.hidden=512", "model.hidden=128"});
  EXPECT_DOUBLE_EQ(c.optim.lr, 3e-4);
  EXPECT_EQ(c.optim.betas, (std::array<double, 2>{0.8, 0.99}));
  EXPECT_EQ(c.model.ffn.kind, FfnKind::mlp);
  EXPECT_EQ(c.model.ffn.hidden, 688);  // a map value merges into the section
  EXPECT_EQ(c.train.device, Device::cuda(1));
  ASSERT_TRUE(c.model.attention.rope_scaling.has_value());
  EXPECT_DOUBLE_EQ(c.model.attention.rope_scaling->factor, 4.0);
  EXPECT_EQ(c.model.attention.rope_scaling->original_max_position_embeddings, 8192);
  EXPECT_FALSE(c.data.tokenizer.has_value());
  EXPECT_EQ(c.model.hidden, 128);  // later overrides win
}

TEST(RecipeTree, BadOverridesNameTheOverride) {
  RecipeDir dir;
  std::string r = dir.write("r.yaml", "optim: {lr: 1.0e-3}\n");
  EXPECT_EQ(config_error([&] { load_config(r, {"optim.lr"}); }),
            "--set optim.lr: expected key=value (for example optim.lr=3e-4)");
  EXPECT_EQ(config_error([&] { load_config(r, {"optim..lr=1"}); }),
            "--set optim..lr=1: optim..lr: expected a dotted key such as optim.lr");
  EXPECT_EQ(config_error([&] { load_config(r, {"=1"}); }), "--set =1: expected a dotted key such as optim.lr");
  EXPECT_EQ(config_error([&] { load_config(r, {"optim.lr=fast"}); }),
            "--set optim.lr=fast: optim.lr: expected a number, got 'fast'");
  EXPECT_TRUE(contains(config_error([&] { load_config(r, {"optim.lrr=1"}); }), "--set optim.lrr=1: optim.lrr: unknown key (did you mean 'lr'?), expected one of kind, lr,"));
  EXPECT_TRUE(contains(config_error([&] { load_config(r, {"optimizer.lr=1"}); }), "--set optimizer.lr=1: optimizer: unknown key (did you mean 'optim'?)"));
  EXPECT_EQ(config_error([&] { load_config(r, {"optim.lr.peak=1"}); }),
            "--set optim.lr.peak=1: optim.lr: expected a number, got a map");
  EXPECT_TRUE(contains(config_error([&] { load_config(r, {"optim.betas=[0.9, 0.95"}); }), "--set optim.betas=[0.9, 0.95: optim.betas: malformed YAML ("));
}
