// dump_config writes every key and parses back to an equal Config; model_config_diff
// names the differing keys with both values.
#include <gtest/gtest.h>

#include "configs/config.h"
#include "tests/configs/recipe_files.h"

using namespace linea;
using linea::testing::RecipeDir;
using linea::testing::contains;

namespace {

// Every key away from its default, with values that are awkward to print.
Config unusual_config() {
  Config c;
  c.seed = -3;
  c.model.kind = ModelKind::encoder;
  c.model.vocab_size = 32000;
  c.model.hidden = 384;
  c.model.layers = 7;
  c.model.heads = 6;
  c.model.kv_heads = 2;
  c.model.ffn = {FfnKind::moe, 1000};
  c.model.norm = {NormKind::simple_rmsnorm, 1e-6, NormPosition::post};
  c.model.attention.kind = AttentionKind::hedgehog_window;
  c.model.attention.positions = PositionKind::alibi;
  c.model.attention.rope_theta = 500000.0;
  c.model.attention.window = 4096;
  c.model.attention.rope_scaling = RopeScalingConfig{32.0, 0.5, 3.25, 4096};
  c.model.attention.window_layout = WindowLayout::sliding;
  c.model.attention.feature_kind = FeatureMapKind::t2r;
  c.model.attention.feature_dim = 17;
  c.model.attention.init_window_logit = -1.0 / 3.0;
  c.model.attention.affine_factors = true;
  c.model.lora = LoraConfig{4, 0.5, 0.25, {"v_proj", "qkvu_proj"}};
  c.transfer = {12.5, 0.0};
  c.model.layer_pattern = {AttentionKind::kda, AttentionKind::norm_linear, AttentionKind::mla};
  c.model.tie_embeddings = false;
  c.model.dropout = 0.1 + 0.2;  // 0.30000000000000004
  c.model.init_std = 1.0 / 3.0;
  c.model.max_seq_len = 4096;
  c.data.train = "data dir/train: #1";
  c.data.valid = "true";
  c.data.seq_len = 1024;
  c.data.objective = Objective::mlm;
  c.data.tokenizer = "tokenizers/llama, v2.model";
  c.optim.kind = OptimKind::decoupled_adamw;
  c.optim.lr = 3e-4;
  c.optim.betas = {0.0, 0.999};
  c.optim.eps = 1e-12;
  c.optim.weight_decay = 0.0;
  c.optim.grad_clip = 0.5;
  c.optim.momentum = 0.0;
  c.optim.no_decay = {"ln_", "a, b", "'quoted'"};
  c.schedule = {ScheduleKind::wsd, 50, 0.0, 300, 7, 0.25};
  c.train = {5000, 64, 8, 1, 0, 0, 0, 4, Precision::bf16, Device::cuda(3), 12, true, std::string("runs/a b/x.h5"), {"*lora_*", "layers.0.*"}, true};
  c.dist = {DistBackend::nccl, 12.5, true, 60.0};
  return c;
}

}  // namespace

TEST(ConfigDump, RoundTripsThroughParse) {
  Config c = unusual_config();
  std::string yaml = dump_config(c);
  Config back = parse_config(yaml, "dumped.yaml");
  EXPECT_EQ(back, c) << yaml;
  EXPECT_DOUBLE_EQ(back.model.dropout, 0.1 + 0.2);
  EXPECT_EQ(back.data.train, "data dir/train: #1");
  EXPECT_EQ(back.data.valid, "true");
  EXPECT_EQ(back.optim.no_decay, c.optim.no_decay);
  EXPECT_EQ(dump_config(back), yaml);  // stable

  Config defaults;
  EXPECT_EQ(parse_config(dump_config(defaults), "defaults.yaml"), defaults);
}

TEST(ConfigDump, WritesEveryKeyInSchemaOrder) {
  std::string yaml = dump_config(Config{});
  EXPECT_EQ(yaml.rfind("seed: 1234\nmodel:\n  kind: decoder\n  vocab_size: 8192\n", 0), 0u) << yaml;
  for (const char* line : {"  ffn:\n    kind: swiglu\n    hidden: 688\n", "    rope_scaling: null\n",
                           "  layer_pattern: []\n", "  init_std: 0.02\n", "  tokenizer: null\n",
                           "  lr: 0.001\n", "    rope_theta: 10000.0\n", "  betas: [0.9, 0.95]\n", "  eps: 1.0e-08\n",
                           "  no_decay: [norm, bias, embed_tokens]\n", "  decay_steps: 0\n", "  device: cpu\n",
                           "dist:\n  backend: auto\n  bucket_mb: 25.0\n  shard_optimizer: false\n"})
    EXPECT_TRUE(contains(yaml, line));
  Config c;
  c.model.attention.rope_scaling = RopeScalingConfig{};
  EXPECT_TRUE(contains(dump_config(c), "    rope_scaling:\n      factor: 8.0\n      low_freq_factor: 1.0\n"
                                        "      high_freq_factor: 4.0\n      original_max_position_embeddings: 8192\n"));
}

TEST(ConfigDump, TrainRecomputeReadsDumpsAndRoundTrips) {
  EXPECT_FALSE(Config{}.train.recompute);
  Config c = parse_config("train: {recompute: true}\n", "r.yaml");
  EXPECT_TRUE(c.train.recompute);
  EXPECT_TRUE(contains(dump_config(c), "  threads: 0\n  recompute: true\n"));
  EXPECT_EQ(parse_config(dump_config(c), "dumped.yaml"), c);
  EXPECT_NE(c, Config{});
}

TEST(ConfigDump, DumpedRecipeReloadsFromAFile) {
  RecipeDir dir;
  Config c = unusual_config();
  EXPECT_EQ(load_config(dir.write("resolved.yaml", dump_config(c))), c);
}

TEST(ConfigDump, ModelDiffNamesKeysAndBothValues) {
  ModelConfig a, b;
  EXPECT_TRUE(model_config_diff(a, b).empty());
  EXPECT_EQ(a, b);
  b.hidden = 512;
  b.ffn.kind = FfnKind::geglu;
  b.norm.eps = 1e-6;
  b.layer_pattern = {AttentionKind::kda, AttentionKind::mla};
  b.attention.rope_scaling = RopeScalingConfig{};
  EXPECT_NE(a, b);
  EXPECT_EQ(model_config_diff(a, b),
            (std::vector<std::string>{
                "model.hidden: 256 vs 512",
                "model.ffn.kind: swiglu vs geglu",
                "model.norm.eps: 1.0e-05 vs 1.0e-06",
                "model.attention.rope_scaling: null vs {factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0, "
                "original_max_position_embeddings: 8192}",
                "model.layer_pattern: [] vs [kda, mla]",
            }));
  Config ca, cb;
  cb.optim.lr = 2e-3;
  EXPECT_NE(ca, cb);
  EXPECT_TRUE(model_config_diff(ca.model, cb.model).empty());
}
