// The trainer with an objective that reports auxiliary losses and metrics (ToyObjective):
// aux losses are backpropagated with the loss and logged apart from it, and both are the
// means over a step's micro-batches in metrics.jsonl's train rows. Modules' after_step
// hooks run once per optimizer step, and the buffers they keep are checkpointed and
// restored on resume.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "core/io/hdf5_file.h"
#include "toy_objective.h"
#include "train/trainer.h"
#include "trainer_fixture.h"

using namespace linea;
using namespace linea::testing;

namespace {

const char* kTrain6 =
    "train: {steps: 6, batch_size: 8, micro_batch_size: 4, log_every: 1, eval_every: 0, ckpt_every: 3,\n"
    "        keep_checkpoints: 2, threads: 1}\n";

std::unique_ptr<TrainingObjective> toy(const Config&, Device, DType) { return std::make_unique<ToyObjective>(); }

std::vector<nlohmann::json> train_rows(const std::string& run_dir) {
  std::ifstream in(run_dir + "/metrics.jsonl");
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(in, line);) {
    nlohmann::json j = nlohmann::json::parse(line);
    if (j["split"] == "train") out.push_back(j);
  }
  return out;
}

}  // namespace

TEST(TrainerObjective, AuxLossesAreBackpropagatedAndLoggedWithMetrics) {
  TempDir dir;
  const std::string recipe = TinyRun::get().recipe(dir, kTrain6);
  ASSERT_EQ(run_train(command(recipe, dir.file("run")), toy), 0);
  const std::vector<nlohmann::json> rows = train_rows(dir.file("run"));
  ASSERT_EQ(rows.size(), 6u);
  // balance starts at ones: 0.01 * 3 before the first update.
  EXPECT_NEAR(rows[0]["aux_losses"]["l2"].get<double>(), 0.03, 1e-7);
  for (size_t i = 0; i < rows.size(); ++i) {
    const int64_t step = rows[i]["step"];
    // Two micro-batches per step, calls 2s - 1 and 2s: their mean.
    EXPECT_EQ(rows[i]["metrics"]["calls"].get<double>(), 2.0 * double(step) - 0.5) << step;
    // Only the aux loss trains balance: it falls at every step after the first, whose
    // learning rate is 0 (warmup).
    if (i > 1) {
      EXPECT_LT(rows[i]["aux_losses"]["l2"].get<double>(), rows[i - 1]["aux_losses"]["l2"].get<double>()) << step;
    }
    EXPECT_TRUE(rows[i]["loss"].is_number()) << step;  // the fit's loss alone
  }
}

TEST(TrainerObjective, TotalIsTheLossPlusEveryAuxLoss) {
  TrainingObjective::MicroBatchLoss l{Variable(Tensor::full({}, 2.0), true), 1, {}, {}};
  EXPECT_EQ(l.total().impl(), l.loss.impl());  // nothing added without aux losses
  l.aux_losses = {{"a", Variable(Tensor::full({}, 0.25), true)}, {"b", Variable(Tensor::full({}, 0.5), true)}};
  Variable total = l.total();
  EXPECT_EQ(total.data().item(), 2.75);
  total.backward();
  for (const Variable& v : {l.loss, l.aux_losses[0].second, l.aux_losses[1].second}) EXPECT_EQ(v.grad().item(), 1.0);
}

TEST(TrainerObjective, AfterStepHooksRunEveryStepAndTheirBuffersSurviveResume) {
  TempDir dir;
  const std::string recipe = TinyRun::get().recipe(dir, kTrain6);
  ASSERT_EQ(run_train(command(recipe, dir.file("straight")), toy), 0);
  auto count_in = [](const std::string& checkpoint) {
    return H5File::open_read(checkpoint).read_tensor("/buffers/counter.count").item();
  };
  EXPECT_EQ(count_in(dir.file("straight/checkpoints/step_0000003.h5")), 3);
  EXPECT_EQ(count_in(dir.file("straight/checkpoints/step_0000006.h5")), 6);
  // The counter throws unless step 4 follows its restored count of 3.
  ASSERT_EQ(run_train(command(recipe, dir.file("resumed"), dir.file("straight/checkpoints/step_0000003.h5")), toy), 0);
  EXPECT_EQ(count_in(dir.file("resumed/checkpoints/step_0000006.h5")), 6);
}
