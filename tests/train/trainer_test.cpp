// End-to-end training on real text: loss falls below the unigram baseline, resume is
// bitwise, a half-written checkpoint never becomes `latest`, and bad runs fail clearly.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "core/io/hdf5_file.h"
#include "data/token_shards.h"
#include "configs/config.h"
#include "train/checkpoint.h"
#include "train/objective.h"
#include "train/trainer.h"
#include "support/file_damage.h"
#include "trainer_fixture.h"

using namespace linea;
using namespace linea::testing;
namespace fs = std::filesystem;

namespace {

const char* kTrain10 =
    "train: {steps: 10, batch_size: 8, micro_batch_size: 4, log_every: 1, eval_every: 5, eval_batches: 2,\n"
    "        ckpt_every: 5, keep_checkpoints: 5, threads: 2}\n";

// Every dataset under /model and /optim, as exact values.
std::map<std::string, std::vector<double>> weights_and_state(const std::string& checkpoint) {
  H5File f = H5File::open_read(checkpoint);
  std::map<std::string, std::vector<double>> out;
  for (const std::string& name : f.list("/model")) out["/model/" + name] = f.read_tensor("/model/" + name).to_vector();
  for (const std::string& name : f.list("/optim"))
    for (const std::string& state : f.list("/optim/" + name))
      out["/optim/" + name + "/" + state] = f.read_tensor("/optim/" + name + "/" + state).to_vector();
  return out;
}

std::vector<nlohmann::json> metrics(const std::string& run_dir) {
  std::ifstream in(run_dir + "/metrics.jsonl");
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

template <class Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Trainer, ResumeIsBitwiseIdenticalToAStraightRun) {
  const TinyRun& tiny = TinyRun::get();
  TempDir dir;
  const std::string recipe = tiny.recipe(dir, kTrain10);
  ASSERT_EQ(run_train(command(recipe, dir.file("straight"))), 0);
  // Second run: start from the straight run's step-5 checkpoint in a new run directory.
  ASSERT_EQ(run_train(command(recipe, dir.file("resumed"), dir.file("straight/checkpoints/step_0000005.h5"))), 0);
  auto a = weights_and_state(dir.file("straight/checkpoints/step_0000010.h5"));
  auto b = weights_and_state(dir.file("resumed/checkpoints/step_0000010.h5"));
  ASSERT_EQ(a.size(), b.size());
  EXPECT_GT(a.size(), 40u);  // 17 parameters, their AdamW moments
  for (const auto& [name, values] : a) EXPECT_TRUE(values == b[name]) << name << " differs after resume";
  // Logged losses of steps 6..10 agree exactly as well.
  auto ma = metrics(dir.file("straight")), mb = metrics(dir.file("resumed"));
  std::map<int64_t, double> la, lb;
  for (auto& j : ma) if (j["split"] == "train") la[j["step"]] = j["loss"];
  for (auto& j : mb) if (j["split"] == "train") lb[j["step"]] = j["loss"];
  for (int64_t s = 6; s <= 10; ++s) EXPECT_EQ(la[s], lb[s]) << "step " << s;
}

TEST(Trainer, HalfWrittenCheckpointNeverBecomesLatest) {
  const TinyRun& tiny = TinyRun::get();
  TempDir dir;
  const std::string recipe = tiny.recipe(dir, kTrain10);
  ASSERT_EQ(run_train(command(recipe, dir.file("straight"))), 0);
  // A run killed while writing step 10: step 5 is complete and `latest`, step 10 exists
  // only as a truncated temporary.
  const std::string run = dir.file("killed");
  fs::create_directories(run + "/checkpoints");
  fs::copy_file(dir.file("straight/checkpoints/step_0000005.h5"), run + "/checkpoints/step_0000005.h5");
  {
    std::ifstream full(dir.file("straight/checkpoints/step_0000010.h5"), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(full)), std::istreambuf_iterator<char>());
    std::ofstream(run + "/checkpoints/step_0000010.h5.tmp", std::ios::binary) << bytes.substr(0, bytes.size() / 3);
  }
  std::ofstream(run + "/latest") << "checkpoints/step_0000005.h5\n";
  ASSERT_EQ(run_train(command(recipe, run, "auto")), 0);
  auto a = weights_and_state(dir.file("straight/checkpoints/step_0000010.h5"));
  auto b = weights_and_state(run + "/checkpoints/step_0000010.h5");
  for (const auto& [name, values] : a) EXPECT_TRUE(values == b[name]) << name;
}

TEST(Trainer, AutoResumeSkipsADamagedNewestCheckpointAndEndsAsAStraightRun) {
  const TinyRun& tiny = TinyRun::get();
  TempDir dir;
  const std::string recipe = tiny.recipe(dir, kTrain10);
  ASSERT_EQ(run_train(command(recipe, dir.file("straight"))), 0);
  const auto want = weights_and_state(dir.file("straight/checkpoints/step_0000010.h5"));
  // The same run directory with its newest checkpoint (the one `latest` names) damaged: a
  // few bytes of a weight flipped.
  const std::string run = dir.file("damaged");
  fs::copy(dir.file("straight"), run, fs::copy_options::recursive);
  const std::string newest = run + "/checkpoints/step_0000010.h5";
  const Tensor norm = H5File::open_read(newest).read_tensor("/model/norm.weight");
  flip_bytes(newest, offset_of(newest, norm.data_ptr(), norm.nbytes()) + 8, 3);
  ::testing::internal::CaptureStderr();
  const int rc = run_train(command(recipe, run, "auto"));
  const std::string said = ::testing::internal::GetCapturedStderr();
  ASSERT_EQ(rc, 0) << said;
  EXPECT_NE(said.find(newest + " is damaged, not resuming from it"), std::string::npos) << said;
  EXPECT_NE(said.find("/model/norm.weight: damaged data"), std::string::npos) << said;
  EXPECT_NE(said.find("resumed from " + run + "/checkpoints/step_0000005.h5 at step 5"), std::string::npos) << said;
  // Steps 6..10 retrained from step 5 end exactly where the undisturbed run did.
  const auto got = weights_and_state(newest);
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [name, values] : want) EXPECT_TRUE(values == got.at(name)) << name << " differs";
}

TEST(Trainer, LossFallsBelowTheUnigramBaselineOnRealText) {
  const TinyRun& tiny = TinyRun::get();
  TempDir dir;
  const std::string recipe = tiny.recipe(
      dir, "train: {steps: 150, batch_size: 16, micro_batch_size: 16, log_every: 1, eval_every: 150,\n"
           "        eval_batches: 0, ckpt_every: 0, threads: 2}\n");
  ASSERT_EQ(run_train(command(recipe, dir.file("run"))), 0);
  // Unigram model of the training tokens (add-one smoothing) scored on the validation tokens.
  TokenShards train(tiny.train_dir), valid(tiny.valid_dir);
  std::vector<double> counts(500, 1.0);
  for (double t : train.read(0, train.total_tokens()).to_vector()) counts[size_t(t)] += 1;
  double total = 0, nll = 0;
  for (double c : counts) total += c;
  std::vector<double> v = valid.read(1, valid.total_tokens() - 1).to_vector();
  for (double t : v) nll -= std::log(counts[size_t(t)] / total);
  const double unigram_ppl = std::exp(nll / double(v.size()));

  auto m = metrics(dir.file("run"));
  double first = -1, last = -1, valid_ppl = -1;
  for (auto& j : m) {
    if (j["split"] == "valid") valid_ppl = j["perplexity"];
    else if (first < 0) first = j["loss"];
    else last = j["loss"];
  }
  EXPECT_NEAR(first, std::log(500.0), 0.5);  // starts near uniform over the vocabulary
  EXPECT_LT(last, first - 1.0);
  EXPECT_LT(valid_ppl, unigram_ppl) << "unigram perplexity " << unigram_ppl;
}

TEST(Trainer, BadRunsFailWithAClearMessage) {
  const TinyRun& tiny = TinyRun::get();
  TempDir dir;
  const std::string recipe = tiny.recipe(dir, kTrain10);
  ASSERT_EQ(run_train(command(recipe, dir.file("run"))), 0);

  // Same run directory again without --resume: refuse rather than overwrite.
  EXPECT_NE(error_of([&] { run_train(command(recipe, dir.file("run"))); }).find("already holds checkpoints"),
            std::string::npos);
  // A checkpoint of a different model.
  TempDir other;
  std::string wider = tiny.recipe(other, kTrain10);
  {
    std::ifstream in(wider);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    text.replace(text.find("hidden: 32"), 10, "hidden: 64");
    write_file(wider, text);
  }
  std::string msg = error_of([&] { run_train(command(wider, other.file("run"), dir.file("run/checkpoints/step_0000010.h5"))); });
  EXPECT_NE(msg.find("model.hidden: 32 vs 64"), std::string::npos) << msg;
  // A checkpoint whose training data came from another tokenizer: the same model and
  // optimizer state rewritten with a different tokenizer identity.
  {
    const std::string good = dir.file("run/checkpoints/step_0000010.h5");
    TrainerState state;
    std::unique_ptr<TrainingObjective> objective =
        make_objective(parse_config(read_checkpoint_config(good), good), Device::cpu(), DType::f32);
    load_checkpoint(good, objective->model(), nullptr, &state);
    EXPECT_EQ(state.tokenizer_sha256, TokenShards(tiny.train_dir).tokenizer_sha256());
    state.tokenizer_sha256 = std::string(64, 'a');
    const OptimizerSnapshot optim = read_optimizer_snapshot(good, "adamw");
    save_checkpoint(other.file("foreign_tokenizer.h5"), objective->model(), &optim, state,
                    read_checkpoint_config(good), 1);
    msg = error_of([&] { run_train(command(recipe, other.file("run4"), other.file("foreign_tokenizer.h5"))); });
    EXPECT_NE(msg.find("tokenizer with sha256 aaaaaaaaaaaa"), std::string::npos) << msg;
    EXPECT_NE(msg.find("expected the same tokenizer"), std::string::npos) << msg;
  }
  // MLM on shards from a SentencePiece model: BERT's special tokens are missing.
  {
    TrainCommand mlm = command(recipe, other.file("run5"));
    mlm.overrides = {"model.kind=encoder", "data.objective=mlm", "model.attention.positions=alibi", "model.kv_heads=4"};
    msg = error_of([&] { run_train(mlm); });
    EXPECT_NE(msg.find("data.objective: mlm needs a BERT WordPiece vocab.txt ([CLS] [SEP] [MASK] [PAD])"),
              std::string::npos) << msg;
  }
  // A foreign HDF5 file and a truncated checkpoint.
  msg = error_of([&] { run_train(command(recipe, other.file("run2"), tiny.train_dir + "/shard_00000.h5")); });
  EXPECT_NE(msg.find("not a linea checkpoint"), std::string::npos) << msg;
  const std::string truncated = other.file("truncated.h5");
  {
    std::ifstream full(dir.file("run/checkpoints/step_0000010.h5"), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(full)), std::istreambuf_iterator<char>());
    std::ofstream(truncated, std::ios::binary) << bytes.substr(0, 1000);
  }
  msg = error_of([&] { run_train(command(recipe, other.file("run3"), truncated)); });
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  // Missing data folder.
  std::string missing = tiny.recipe(other, kTrain10);
  {
    std::ifstream in(missing);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    text.replace(text.find(tiny.valid_dir), tiny.valid_dir.size(), other.file("nowhere"));
    write_file(missing, text);
  }
  msg = error_of([&] { run_train(command(missing, other.file("run4"))); });
  EXPECT_NE(msg.find("nowhere"), std::string::npos) << msg;
}
