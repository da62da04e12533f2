// --resume auto's choice: the checkpoint `latest` names while it loads, else the newest older
// one that loads intact, never a damaged one; a checkpoint that does not fit is not skipped;
// all damaged is an error naming the run.
#include "train/auto_resume.h"

#include <gtest/gtest.h>

#include "layers/linear.h"
#include "support/file_damage.h"
#include "support/temp_dir.h"
#include "train/checkpoint.h"

using namespace linea;
using namespace linea::testing;

namespace {

Tensor stored_weight() { return Tensor::from_vector({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {3, 4}); }

// A run directory holding checkpoints of steps 1, 2 and 3 (a small Linear), `latest` naming step 3.
RunDir run_with_three_checkpoints(const TempDir& dir) {
  RunDir run(dir.file("run"));
  run.create();
  Linear model(4, 3);
  for (const auto& [name, p] : model.named_parameters())  // weights whose bytes damage() finds
    if (name == "weight") {
      Tensor data = p.data();  // shares the parameter's storage
      data.copy_(stored_weight());
    }
  for (int64_t step = 1; step <= 3; ++step) {
    TrainerState state;
    state.step = step;
    save_checkpoint(run.checkpoint_path(step), model, nullptr, state, "seed: 1\n", 1);
  }
  run.set_latest(run.checkpoint_path(3));
  return run;
}

// Flips bytes in the stored weight.
void damage(const std::string& checkpoint) {
  const Tensor weight = stored_weight();
  flip_bytes(checkpoint, offset_of(checkpoint, weight.data_ptr(), weight.nbytes()) + 20, 4);
}

// Loads into a Linear like the run's: what --resume auto would train from.
std::string resume(const RunDir& run, bool report = false) {
  Linear model(4, 3);
  return load_newest_intact(run, [&](const std::string& c) { load_checkpoint(c, model, nullptr, nullptr); }, report);
}

}  // namespace

TEST(AutoResume, TakesLatestWhileIntact) {
  TempDir dir;
  RunDir run = run_with_three_checkpoints(dir);
  EXPECT_EQ(resume(run), run.checkpoint_path(3));
  // A newer checkpoint than `latest` was never completed as the latest: not taken.
  run.set_latest(run.checkpoint_path(2));
  EXPECT_EQ(resume(run), run.checkpoint_path(2));
  EXPECT_EQ(resume(RunDir(dir.file("fresh"))), "");
}

TEST(AutoResume, SkipsDamagedCheckpointsNamingThem) {
  TempDir dir;
  RunDir run = run_with_three_checkpoints(dir);
  damage(run.checkpoint_path(3));
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(resume(run, true), run.checkpoint_path(2));
  const std::string said = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(said.find("linea: warning: " + run.checkpoint_path(3) + " is damaged, not resuming from it (1 damaged "
                      "object(s), the first: " + run.checkpoint_path(3) + ": /model/weight: damaged data"),
            std::string::npos) << said;
  damage(run.checkpoint_path(2));
  EXPECT_EQ(resume(run), run.checkpoint_path(1));
  // Truncated, or gone although `latest` names it: skipped the same way.
  std::filesystem::resize_file(run.checkpoint_path(3), 100);
  EXPECT_EQ(resume(run), run.checkpoint_path(1));
  std::filesystem::remove(run.checkpoint_path(3));
  EXPECT_EQ(resume(run), run.checkpoint_path(1));
}

TEST(AutoResume, ACheckpointThatDoesNotFitIsNotSkipped) {
  TempDir dir;
  RunDir run = run_with_three_checkpoints(dir);
  Linear wider(5, 3);
  try {
    load_newest_intact(run, [&](const std::string& c) { load_checkpoint(c, wider, nullptr, nullptr); }, false);
    ADD_FAILURE() << "expected a CheckpointError";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find(run.checkpoint_path(3) + ": parameter 'weight' has shape [3, 4]"),
              std::string::npos) << e.what();
  }
}

TEST(AutoResume, AllDamagedIsAnError) {
  TempDir dir;
  RunDir run = run_with_three_checkpoints(dir);
  for (int64_t step = 1; step <= 3; ++step) damage(run.checkpoint_path(step));
  try {
    resume(run);
    ADD_FAILURE() << "expected a CheckpointError";
  } catch (const CheckpointError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(run.path() + ": all 3 checkpoints are damaged (the newest: " + run.checkpoint_path(3)),
              std::string::npos) << what;
    EXPECT_NE(what.find("expected an intact one to resume from"), std::string::npos) << what;
  }
}
