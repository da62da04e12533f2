// Fine-tuning (data.objective: classification): the task: config section and its errors, the
// GLUE objective's losses and metrics on small hand-written TSV files, the non-strict
// init_from load (pretraining and fine-tuned checkpoints), and an end-to-end run of the
// trainer on the KJV testament fixture that must reach dev accuracy well above chance.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "autograd/ops/cross_entropy.h"
#include "configs/config.h"
#include "data/glue_tsv.h"
#include "train/checkpoint.h"
#include "train/commands.h"
#include "train/glue_objective.h"
#include "train/trainer.h"
#include "support/temp_dir.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

namespace {

void write(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << text;
}

// A 20-token WordPiece vocabulary with BERT's specials.
std::string tiny_vocab(const TempDir& dir) {
  const std::string path = dir.file("vocab.txt");
  write(path, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\ngood\nbad\nfilm\nplot\nvery\nnot\nthe\nwas\na\nis\nsame\nother\n"
              "one\nsat\nran\n");
  return path;
}

std::string recipe(const std::string& vocab, const std::string& task, const std::string& data_dir,
                   const std::string& extra = "") {
  return str_cat(R"(seed: 3
model:
  kind: encoder
  vocab_size: 24
  hidden: 16
  layers: 1
  heads: 2
  kv_heads: 2
  ffn: {kind: geglu, hidden: 16}
  norm: {kind: layernorm, eps: 1.0e-12, position: post}
  attention: {kind: softmax, positions: alibi}
  dropout: 0.0
  max_seq_len: 32
data:
  objective: classification
  seq_len: 16
  tokenizer: )", vocab, R"(
task:
  name: )", task, R"(
  data_dir: )", data_dir, R"(
  classifier_dropout: 0.0
train: {steps: 2, batch_size: 4, micro_batch_size: 4, threads: 1}
)", extra);
}

struct Task {
  TempDir dir;
  std::string vocab;
  Task() : vocab(tiny_vocab(dir)) {}
};

void write_sst2(const TempDir& dir) {
  write(dir.file("sst2/train.tsv"), "sentence\tlabel\nthe film was good\t1\nthe plot was bad\t0\nvery good\t1\n"
                                    "not good\t0\na bad film\t0\nthe film is very good\t1\n");
  write(dir.file("sst2/dev.tsv"), "sentence\tlabel\ngood film\t1\nbad plot\t0\nvery bad\t0\n");
}

}  // namespace

TEST(GlueConfig, TaskSectionReadsDumpsAndReloads) {
  Config c = parse_config(recipe("v.txt", "mrpc", "glue/MRPC", "  \n"), "r.yaml");
  ASSERT_TRUE(c.task.has_value());
  EXPECT_EQ(c.data.objective, Objective::classification);
  EXPECT_EQ(c.task->name, "mrpc");
  EXPECT_EQ(c.task->data_dir, "glue/MRPC");
  EXPECT_FALSE(c.task->init_from.has_value());
  EXPECT_TRUE(c.task->pad_to_longest);
  EXPECT_EQ(parse_config(dump_config(c), "dumped.yaml"), c);
  EXPECT_FALSE(Config{}.task.has_value());
}

TEST(GlueConfig, ErrorsNameTheKeyAndLocation) {
  // Every task name config validation accepts is a GLUE task the reader knows, and back.
  EXPECT_EQ(config_glue_task_names(), glue_task_names());
  std::string yaml = recipe("v.txt", "wnli", "d");
  expect_error<ConfigError>([&] { parse_config(yaml, "r.yaml"); },
                            "r.yaml:19:9: task.name: expected one of cola, sst2, mrpc, qqp, qnli, rte, mnli, stsb, got 'wnli'");
  yaml = recipe("v.txt", "sst2", "d");
  const std::string no_task = yaml.substr(0, yaml.find("task:")) + yaml.substr(yaml.find("train:"));
  expect_error<ConfigError>([&] { parse_config(no_task, "r.yaml"); },
                            "data.objective: expected a task: section (name, data_dir) to fine-tune on");
  std::string mlm = yaml;
  mlm.replace(mlm.find("objective: classification"), 25, "objective: mlm");
  expect_error<ConfigError>([&] { parse_config(mlm, "r.yaml"); }, "task: expected data.objective: classification with a task: section (data.objective is mlm)");
  std::string decoder = yaml;
  decoder.replace(decoder.find("kind: encoder"), 13, "kind: decoder");
  expect_error<ConfigError>([&] { parse_config(decoder, "r.yaml"); }, "model.kind encoder to fine-tune");
  std::string unknown = yaml;
  unknown.insert(unknown.find("  classifier_dropout"), "  bogus: 1\n");
  expect_error<ConfigError>([&] { parse_config(unknown, "r.yaml"); }, "r.yaml:21:3: task.bogus: unknown key");
  std::string bad_dropout = yaml;
  bad_dropout.replace(bad_dropout.find("classifier_dropout: 0.0"), 23, "classifier_dropout: 1.5");
  expect_error<ConfigError>([&] { parse_config(bad_dropout, "r.yaml"); }, "task.classifier_dropout: expected a number in [0, 1)");
}

TEST(GlueObjective, ClassificationLossIsCrossEntropyOfClsLogits) {
  Task t;
  write_sst2(t.dir);
  GlueObjective obj(parse_config(recipe(t.vocab, "sst2", t.dir.file("sst2")), "r.yaml"), Device::cpu(), DType::f32);
  EXPECT_EQ(obj.num_train_examples(), 6);
  Generator gen(1);
  obj.init_parameters(gen);
  EXPECT_FALSE(obj.init_report().has_value());
  for (double v : obj.model().parameter("head.classifier.bias").data().to_vector()) EXPECT_EQ(v, 0.0);
  const std::vector<int64_t> idx = {0, 1, 4};
  TrainingObjective::MicroBatchLoss l = obj.train_loss(idx, 0);
  GlueBatch b = obj.train_data().get_batch(idx);
  Variable logits = obj.classifier().forward(obj.rows_of(b));
  EXPECT_NEAR(l.loss.data().item(), cross_entropy(logits, b.labels).data().item(), 1e-6);
  EXPECT_EQ(l.tokens, 6 + 6 + 5);  // [CLS] + 4 / 4 / 3 words + [SEP]
  l.loss.backward();
  EXPECT_TRUE(obj.model().parameter("head.pooler.weight").grad().defined());
  EXPECT_TRUE(obj.model().parameter("encoder.layers.0.attention.Wqkv.weight").grad().defined());
}

TEST(GlueObjective, EvaluateReportsTheTaskMetricsOverTheWholeDevFile) {
  Task t;
  write_sst2(t.dir);
  GlueObjective obj(parse_config(recipe(t.vocab, "sst2", t.dir.file("sst2")), "r.yaml"), Device::cpu(), DType::f32);
  Generator gen(1);
  obj.init_parameters(gen);
  EvalResult r = obj.evaluate(0, 2, {});  // batches of 2 and 1
  EXPECT_EQ(r.tokens, 3);
  ASSERT_EQ(r.metrics.size(), 2u);
  EXPECT_EQ(r.metrics[0].first, "accuracy");
  EXPECT_EQ(r.metrics[1].first, "score");
  EXPECT_NEAR(r.metrics[1].second, 100 * r.metrics[0].second, 1e-9);
  // Accuracy is a multiple of 1/3 and the loss the mean CE over the three dev examples.
  EXPECT_NEAR(std::fmod(r.metrics[0].second * 3 + 1e-9, 1.0), 0.0, 1e-6);
  EXPECT_TRUE(obj.model().is_training());  // restored after evaluation
  EvalResult first = obj.evaluate(1, 2, {});   // only the first batch
  EXPECT_EQ(first.tokens, 2);
  EXPECT_NE(format_eval_metrics(r).find(" | accuracy "), std::string::npos);
  // Classifiers: task metrics over examples, no perplexity; language models the reverse.
  const std::string line = format_eval_line(7, r);
  EXPECT_EQ(line.rfind("eval step 7 | valid loss ", 0), 0u) << line;
  EXPECT_EQ(line.find("perplexity"), std::string::npos) << line;
  EXPECT_NE(line.find(" | 3 examples"), std::string::npos) << line;
  EvalResult lm;
  lm.add_batch(std::log(20.0), 10, 4);
  EXPECT_EQ(format_eval_line(2, lm), "eval step 2 | valid loss 2.9957 | perplexity 20.00 | mlm accuracy 0.4000 | 10 tokens");
}

TEST(GlueObjective, PairTaskReportsAccuracyAndF1) {
  Task t;
  const std::string head = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n";
  write(t.dir.file("mrpc/train.tsv"), head + "1\t1\t2\tthe film\tthe film\n0\t3\t4\tthe plot\ta one\n1\t5\t6\tgood\tgood\n"
                                             "0\t7\t8\tbad\tother\n");
  write(t.dir.file("mrpc/dev.tsv"), head + "1\t1\t2\tplot\tplot\n0\t3\t4\tfilm\tsat\n");
  GlueObjective obj(parse_config(recipe(t.vocab, "mrpc", t.dir.file("mrpc")), "r.yaml"), Device::cpu(), DType::f32);
  Generator gen(1);
  obj.init_parameters(gen);
  GlueBatch b = obj.train_data().get_batch({1});
  EXPECT_EQ(b.token_type_ids.to_vector(), (std::vector<double>{0, 0, 0, 0, 1, 1, 1}));  // [CLS] the plot [SEP] a one [SEP]
  EvalResult r = obj.evaluate(0, 4, {});
  ASSERT_EQ(r.metrics.size(), 3u);
  EXPECT_EQ(r.metrics[0].first, "accuracy");
  EXPECT_EQ(r.metrics[1].first, "f1");
  EXPECT_NEAR(r.metrics[2].second, 50 * (r.metrics[0].second + r.metrics[1].second), 1e-9);
}

TEST(GlueObjective, RegressionLossIsMseOfOneScore) {
  Task t;
  const std::string head = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n";
  write(t.dir.file("stsb/train.tsv"), head + "0\tg\tf\ty\t0\ts\ts\tthe film\tthe film\t5.0\n"
                                             "1\tg\tf\ty\t1\ts\ts\tthe plot\tone sat\t0.5\n"
                                             "2\tg\tf\ty\t2\ts\ts\tgood\tbad\t2.25\n3\tg\tf\ty\t3\ts\ts\tran\tran\t4.5\n");
  write(t.dir.file("stsb/dev.tsv"), head + "0\tg\tf\ty\t0\ts\ts\tfilm\tfilm\t4.0\n1\tg\tf\ty\t1\ts\ts\tgood\tsat\t1.0\n"
                                           "2\tg\tf\ty\t2\ts\ts\tplot\tthe plot\t3.0\n");
  GlueObjective obj(parse_config(recipe(t.vocab, "stsb", t.dir.file("stsb")), "r.yaml"), Device::cpu(), DType::f32);
  EXPECT_TRUE(obj.task().regression);
  Generator gen(1);
  obj.init_parameters(gen);
  const std::vector<int64_t> idx = {0, 1, 2};
  TrainingObjective::MicroBatchLoss l = obj.train_loss(idx, 0);
  GlueBatch b = obj.train_data().get_batch(idx);
  const std::vector<double> y =
      obj.classifier().forward(obj.rows_of(b)).data().to_vector();
  ASSERT_EQ(y.size(), 3u);
  const double mse = ((y[0] - 5.0) * (y[0] - 5.0) + (y[1] - 0.5) * (y[1] - 0.5) + (y[2] - 2.25) * (y[2] - 2.25)) / 3;
  EXPECT_NEAR(l.loss.data().item(), mse, 1e-5);
  EvalResult r = obj.evaluate(0, 2, {});
  ASSERT_EQ(r.metrics.size(), 3u);
  EXPECT_EQ(r.metrics[0].first, "pearson");
  EXPECT_EQ(r.metrics[1].first, "spearman");
  EXPECT_EQ(r.metrics[2].first, "score");
  EXPECT_TRUE(std::isnan(r.metrics[2].second) || std::abs(r.metrics[2].second - 100 * r.metrics[1].second) < 1e-9);
}

TEST(GlueObjective, MissingTokenizerOrFilesAreClearErrors) {
  Task t;
  write_sst2(t.dir);
  std::string yaml = recipe(t.vocab, "sst2", t.dir.file("sst2"));
  std::string no_tok = yaml;
  no_tok.replace(no_tok.find("tokenizer: "), std::string("tokenizer: ").size() + t.vocab.size(), "tokenizer: null");
  expect_error<ConfigError>([&] { GlueObjective(parse_config(no_tok, "r.yaml"), Device::cpu(), DType::f32); },
                            "data.tokenizer: fine-tuning (data.objective: classification) reads raw text");
  expect_error<DataError>(
      [&] { GlueObjective(parse_config(recipe(t.vocab, "rte", t.dir.file("sst2")), "r.yaml"), Device::cpu(), DType::f32); },
      "task.data_dir: ");
  std::string big = yaml;
  big.replace(big.find("batch_size: 4,"), 14, "batch_size: 8,");
  big.replace(big.find("micro_batch_size: 4"), 19, "micro_batch_size: 8");
  expect_error<ConfigError>([&] { GlueObjective(parse_config(big, "r.yaml"), Device::cpu(), DType::f32); },
                            "holds 6 examples, fewer than one batch of train.batch_size 8");
}

TEST(GlueObjective, InitFromPretrainingCheckpointLoadsTheEncoderAndDropsTheMlmHead) {
  Task t;
  write_sst2(t.dir);
  Config c = parse_config(recipe(t.vocab, "sst2", t.dir.file("sst2")), "r.yaml");
  // A pretraining checkpoint of the same encoder (with its MLM head).
  Encoder pre(c.model);
  Generator g0(99);
  pre.init_parameters(g0, 0);
  const std::string ckpt = t.dir.file("pre.h5");
  save_checkpoint(ckpt, pre, nullptr, TrainerState{}, "", 1);

  c.task->init_from = ckpt;
  GlueObjective obj(c, Device::cpu(), DType::f32);
  Generator gen(1);
  obj.init_parameters(gen);
  ASSERT_TRUE(obj.init_report().has_value());
  const WeightsLoadReport& r = *obj.init_report();
  EXPECT_EQ(r.loaded.size(), pre.named_parameters().size() - 5);  // all but mlm_head's 5 tensors
  EXPECT_EQ(r.ignored.size(), 5u);
  for (const std::string& n : r.ignored) EXPECT_EQ(n.rfind("mlm_head.", 0), 0u) << n;
  EXPECT_EQ(r.missing, (std::vector<std::string>{"head.pooler.weight", "head.pooler.bias", "head.classifier.weight",
                                                 "head.classifier.bias"}));
  EXPECT_TRUE(r.unexpected.empty());
  for (const auto& [name, p] : pre.named_parameters()) {
    if (name.rfind("mlm_head.", 0) == 0) continue;
    EXPECT_TRUE(all_close(obj.model().parameter("encoder." + name).data(), p.data(), 0, 0)) << name;
  }

  // A fine-tuned checkpoint (as MNLI's for RTE): encoder and pooler carried over, classifier
  // re-initialized; here from the model just loaded, with a perturbed classifier.
  Tensor(obj.model().parameter("head.classifier.weight").data()).fill_(7.0);
  const std::string ft = t.dir.file("ft.h5");
  save_checkpoint(ft, obj.model(), nullptr, TrainerState{}, dump_config(c), 1);
  // `linea eval` scores pretraining checkpoints only; a classifier gets one clear error.
  EvalCommand eval;
  eval.checkpoint = ft;
  eval.data = t.dir.path();
  expect_error<ConfigError>([&] { run_eval(eval); }, "is a fine-tuned classifier");
  GlueObjective again(c, Device::cpu(), DType::f32);
  WeightsLoadReport r2 = load_init_weights(ft, again.classifier());
  EXPECT_EQ(r2.ignored, (std::vector<std::string>{"head.classifier.bias", "head.classifier.weight"}));
  EXPECT_EQ(r2.missing, (std::vector<std::string>{"head.classifier.weight", "head.classifier.bias"}));
  EXPECT_TRUE(all_close(again.model().parameter("head.pooler.weight").data(),
                        obj.model().parameter("head.pooler.weight").data(), 0, 0));

  // A checkpoint of another model: a clear error instead of a silent random init.
  Config other = c;
  other.model.hidden = 8;
  other.model.ffn.hidden = 8;
  Encoder small(other.model);
  const std::string bad = t.dir.file("bad.h5");
  save_checkpoint(bad, small, nullptr, TrainerState{}, "", 1);
  expect_error<CheckpointError>([&] { load_init_weights(bad, again.classifier()); }, "in the checkpoint, expected [16] for parameter 'encoder.");
  c.task->init_from = t.dir.file("nope.h5");
  GlueObjective missing(c, Device::cpu(), DType::f32);
  expect_error<Error>([&] { missing.init_parameters(gen); }, "task.init_from: ");
}

// The issue's done-when: fine-tuning on a small GLUE-format fixture learns. A 2-layer, width-64
// encoder from a random init, 80 steps of batch 32 (~30 s on two idle cores) on the KJV testament task (SST-2 layout,
// 14,322 train verses, 1,592 dev verses, exactly balanced, so chance and the majority class
// are both 50%). Threshold 0.70: a bag-of-words naive Bayes reaches 91% on this split
// (glue_fixture.sh) and this model measured 82% after 60 of 120 steps and 85.5% after 120; the
// recipe-sized model 88% after 150 steps, while a model that
// did not learn stays near 50% (the standard error of a 50% accuracy on 1,592 examples is
// 1.25%, so 70% is 16 standard errors above chance).
TEST(GlueEndToEnd, FineTuningOnKjvTestamentLearns) {
  const char* home = std::getenv("HOME");
  const std::string vocab = std::getenv("LINEA_NPM_CACHE") ? std::string(std::getenv("LINEA_NPM_CACHE")) + "/bert-base-uncased/vocab.txt"
                                                           : std::string(home ? home : "") + "/.cache/linea/npm/bert-base-uncased/vocab.txt";
  if (!std::filesystem::is_regular_file(vocab))
    GTEST_SKIP() << "bert-base-uncased vocab.txt not found at " << vocab << "; run scripts/tokenizer_fixtures_bert.sh";
  if (std::system("command -v bible >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "the 'bible' command (Debian's bible-kjv) is missing; scripts/setup.sh installs it";
  TempDir dir;
  ASSERT_EQ(std::system((std::string(LINEA_SOURCE_DIR) + "/scripts/glue_fixture.sh " + dir.file("glue") + " >/dev/null").c_str()), 0);
  const std::string yaml = dir.file("ft.yaml");
  write(yaml, str_cat(R"(seed: 5
model:
  kind: encoder
  vocab_size: 30528
  hidden: 64
  layers: 2
  heads: 2
  kv_heads: 2
  ffn: {kind: geglu, hidden: 128}
  norm: {kind: layernorm, eps: 1.0e-12, position: post}
  attention: {kind: softmax, positions: alibi}
  dropout: 0.0
  max_seq_len: 64
data:
  objective: classification
  seq_len: 64
  tokenizer: )", vocab, R"(
task: {name: sst2, data_dir: )", dir.file("glue/testament"), R"(, classifier_dropout: 0.0}
optim: {kind: decoupled_adamw, lr: 2.0e-3, betas: [0.9, 0.98], eps: 1.0e-6, weight_decay: 2.0e-6, grad_clip: 1.0, no_decay: []}
schedule: {kind: linear, warmup_steps: 5, min_lr_ratio: 0.0}
train: {steps: 80, batch_size: 32, micro_batch_size: 32, log_every: 40, eval_every: 80, eval_batches: 0,
        ckpt_every: 0, keep_checkpoints: 1, threads: 2}
)"));
  TrainCommand cmd;
  cmd.recipe = yaml;
  cmd.run_dir = dir.file("run");
  cmd.no_progress = true;
  ASSERT_EQ(run_train(cmd), 0);
  std::ifstream in(dir.file("run/metrics.jsonl"));
  std::optional<double> accuracy;
  for (std::string line; std::getline(in, line);) {
    nlohmann::json j = nlohmann::json::parse(line);
    if (j.contains("metrics")) accuracy = j["metrics"]["accuracy"].get<double>();
  }
  ASSERT_TRUE(accuracy.has_value()) << "no eval line with metrics in metrics.jsonl";
  std::printf("KJV testament dev accuracy after 80 steps: %.4f\n", *accuracy);
  EXPECT_GT(*accuracy, 0.70);
}
