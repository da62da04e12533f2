// Module buffers in checkpoints (/buffers/<dotted name>): saved as they are (dtype kept),
// restored by load_checkpoint, and a checkpoint whose buffers do not match the model's is
// refused with the buffer's name.
#include <gtest/gtest.h>

#include "core/dist/single_rank_communicator.h"
#include "support/temp_dir.h"
#include "support/testing.h"
#include "toy_objective.h"
#include "train/checkpoint.h"

using namespace linea;
using namespace linea::testing;

namespace {
struct Renamed : Module {  // ToyModel's parameters, its buffer under another name
  Renamed() {
    register_module("proj", std::make_shared<Linear>(4, 1));
    register_parameter("balance", Variable(Tensor::ones({3})));
    auto counter = register_module("counter", std::make_shared<Module>());
    counter->register_buffer("steps", Tensor::zeros({1}, DType::i64));
  }
};
}  // namespace

TEST(CheckpointBuffers, SavedAndRestored) {
  TempDir dir;
  ToyModel saved;
  SingleRankCommunicator comm;
  for (int64_t s = 1; s <= 4; ++s) saved.run_after_step(StepEnd{s, comm});
  save_checkpoint(dir.file("c.h5"), saved, nullptr, TrainerState{}, "", 1);
  ToyModel loaded;
  load_checkpoint(dir.file("c.h5"), loaded, nullptr, nullptr);
  EXPECT_EQ(loaded.counter().count(), 4);
  EXPECT_EQ(loaded.buffer("counter.count").dtype(), DType::i64);
  Renamed other;
  expect_error<CheckpointError>([&] { load_checkpoint(dir.file("c.h5"), other, nullptr, nullptr); },
                                "buffer 'counter.steps' is missing from the checkpoint");
}
