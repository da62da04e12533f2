// Reading recipes into Config: the DESIGN §7 example, defaults, and every unknown key or
// wrong type reported with file, line, column, key and what was expected.
#include <gtest/gtest.h>

#include "configs/config.h"
#include "tests/configs/recipe_files.h"

using namespace linea;
using linea::testing::config_error;
using linea::testing::contains;

namespace {

// The example recipe of DESIGN.md §7, without its `base:` line.
const char* kDesignExample = R"(seed: 1234
model:
  kind: decoder                      # decoder | encoder
  vocab_size: 8192
  hidden: 256
  layers: 4
  heads: 4
  kv_heads: 4
  ffn: {kind: swiglu, hidden: 688}   # swiglu | geglu | sglu | glu | mlp | moe
  norm: {kind: rmsnorm, eps: 1.0e-5, position: pre}
  attention: {kind: softmax, positions: rope, rope_theta: 10000}
  layer_pattern: [kda, kda, kda, mla]  # optional: per-layer attention kinds, repeated
  tie_embeddings: true
  dropout: 0.0
data:
  train: data/kjv/train              # folder of HDF5 shards from `linea prepare`
  valid: data/kjv/valid
  seq_len: 256
  objective: causal                  # causal | mlm
optim: {kind: adamw, lr: 1.0e-3, betas: [0.9, 0.95], eps: 1.0e-8, weight_decay: 0.1, grad_clip: 1.0}
schedule: {kind: cosine, warmup_steps: 100, min_lr_ratio: 0.1}
train:
  steps: 2000
  batch_size: 16                     # global sequences per optimizer step
  micro_batch_size: 16               # per rank per forward; accumulation fills the rest
  log_every: 10
  eval_every: 200
  eval_batches: 20
  ckpt_every: 500
  keep_checkpoints: 3
  precision: fp32                    # fp32 | bf16
  device: cpu                        # cpu | cuda
  threads: 0                         # 0 = all cores
dist: {backend: auto, bucket_mb: 25, shard_optimizer: false}
)";

std::string error_of(const std::string& yaml) {
  return config_error([&] { parse_config(yaml, "r.yaml"); });
}

}  // namespace

TEST(ConfigReader, DesignExampleParses) {
  Config c = parse_config(kDesignExample, "example.yaml");
  EXPECT_EQ(c.seed, 1234);
  EXPECT_EQ(c.model.kind, ModelKind::decoder);
  EXPECT_EQ(c.model.vocab_size, 8192);
  EXPECT_EQ(c.model.ffn.kind, FfnKind::swiglu);
  EXPECT_EQ(c.model.ffn.hidden, 688);
  EXPECT_DOUBLE_EQ(c.model.norm.eps, 1e-5);
  EXPECT_EQ(c.model.norm.position, NormPosition::pre);
  EXPECT_EQ(c.model.attention.positions, PositionKind::rope);
  EXPECT_DOUBLE_EQ(c.model.attention.rope_theta, 10000.0);
  EXPECT_FALSE(c.model.attention.rope_scaling.has_value());
  EXPECT_EQ(c.model.layer_pattern, (std::vector<AttentionKind>{AttentionKind::kda, AttentionKind::kda,
                                                               AttentionKind::kda, AttentionKind::mla}));
  EXPECT_TRUE(c.model.tie_embeddings);
  EXPECT_DOUBLE_EQ(c.model.init_std, 0.02);
  EXPECT_EQ(c.data.train, "data/kjv/train");
  EXPECT_EQ(c.data.objective, Objective::causal);
  EXPECT_FALSE(c.data.tokenizer.has_value());
  EXPECT_EQ(c.optim.betas, (std::array<double, 2>{0.9, 0.95}));
  EXPECT_EQ(c.optim.no_decay, (std::vector<std::string>{"norm", "bias", "embed_tokens"}));
  EXPECT_EQ(c.schedule.kind, ScheduleKind::cosine);
  EXPECT_EQ(c.schedule.warmup_steps, 100);
  EXPECT_EQ(c.train.steps, 2000);
  EXPECT_EQ(c.train.device, Device::cpu());
  EXPECT_EQ(c.dist.backend, DistBackend::automatic);
  EXPECT_DOUBLE_EQ(c.dist.bucket_mb, 25.0);
}

TEST(ConfigReader, OmittedKeysKeepDefaults) {
  Config c = parse_config("seed: 5\n", "r.yaml");
  Config defaults;
  defaults.seed = 5;
  EXPECT_EQ(c, defaults);
}

TEST(ConfigReader, UnknownKeysNamePositionPathAndClosestKey) {
  EXPECT_EQ(error_of("optim:\n  kind: adamw\n  lrr: 0.1\n"),
            "r.yaml:3:3: optim.lrr: unknown key (did you mean 'lr'?), expected one of kind, lr, betas, eps, "
            "weight_decay, grad_clip, momentum, no_decay, muon_momentum, muon_nesterov, muon_ns_steps, adamw_params");
  EXPECT_TRUE(contains(error_of("model: {attention: {rope_scaling: {factr: 2}}}\n"), "r.yaml:1:36: model.attention.rope_scaling.factr: unknown key (did you mean 'factor'?)"));
  EXPECT_TRUE(contains(error_of("seed: 1\ntrian: {steps: 1}\n"), "r.yaml:2:1: trian: unknown key (did you mean 'train'?)"));
  // Nothing close: no guess, only the valid keys.
  EXPECT_EQ(error_of("dist: {zzzzzz: 1}\n"),
            "r.yaml:1:8: dist.zzzzzz: unknown key, expected one of backend, bucket_mb, shard_optimizer, timeout_s");
}

TEST(ConfigReader, WrongTypesNameWhatWasExpected) {
  EXPECT_EQ(error_of("optim:\n  lr: fast\n"), "r.yaml:2:7: optim.lr: expected a number, got 'fast'");
  EXPECT_EQ(error_of("model: {hidden: 25.5}\n"), "r.yaml:1:17: model.hidden: expected an integer, got '25.5'");
  EXPECT_EQ(error_of("model: {tie_embeddings: yes}\n"),
            "r.yaml:1:25: model.tie_embeddings: expected true or false, got 'yes'");
  EXPECT_EQ(error_of("model: {ffn: 3}\n"), "r.yaml:1:14: model.ffn: expected a map, got '3'");
  EXPECT_EQ(error_of("data: {train: [a, b]}\n"), "r.yaml:1:15: data.train: expected a string, got a list");
  EXPECT_EQ(error_of("optim: {betas: 0.9}\n"), "r.yaml:1:16: optim.betas: expected a list of 2 numbers, got '0.9'");
  EXPECT_EQ(error_of("optim: {betas: [0.9]}\n"), "r.yaml:1:16: optim.betas: expected a list of 2 numbers, got 1 items");
  EXPECT_EQ(error_of("optim: {betas: [0.9, x]}\n"), "r.yaml:1:22: optim.betas[1]: expected a number, got 'x'");
  EXPECT_EQ(error_of("optim: {no_decay: norm}\n"), "r.yaml:1:19: optim.no_decay: expected a list, got 'norm'");
  EXPECT_EQ(error_of("optim:\n  lr:\n"), "r.yaml:2:3: optim.lr: expected a number, got null");
  EXPECT_EQ(error_of("model: {attention: {rope_scaling: 2}}\n"),
            "r.yaml:1:35: model.attention.rope_scaling: expected a map or null, got '2'");
  EXPECT_EQ(error_of("seed: .inf\n"), "r.yaml:1:7: seed: expected an integer, got '.inf'");
  EXPECT_EQ(parse_config("train: {steps: 1.0e+3}\n", "r.yaml").train.steps, 1000);  // exact integers accepted
}

TEST(ConfigReader, UnknownEnumValuesListTheValidOnes) {
  EXPECT_EQ(error_of("model:\n  ffn: {kind: swiglo}\n"),
            "r.yaml:2:15: model.ffn.kind: expected one of swiglu, geglu, sglu, glu, mlp, moe, got 'swiglo' "
            "(did you mean 'swiglu'?)");
  EXPECT_EQ(error_of("schedule: {kind: exponential}\n"),
            "r.yaml:1:18: schedule.kind: expected one of constant, linear, cosine, wsd, plateau, got 'exponential'");
  EXPECT_EQ(error_of("model: {layer_pattern: [kda, mlaa]}\n"),
            "r.yaml:1:30: model.layer_pattern[1]: expected one of softmax, mla, norm_linear, diag_block, lightning, "
            "kda, hedgehog_window, got 'mlaa' (did you mean 'mla'?)");
  EXPECT_EQ(error_of("train: {device: gpu}\n"),
            "r.yaml:1:17: train.device: unknown device 'gpu', expected cpu, cuda or cuda:N");
  EXPECT_EQ(error_of("dist: {backend: [mpi]}\n"),
            "r.yaml:1:17: dist.backend: expected one of auto, mpi, nccl, got a list");
}
