// train.recompute: the training objective's decoder re-runs each block's forward in
// backward, and its loss and gradients are those of the plain backward.
#include <gtest/gtest.h>

#include <map>

#include "configs/config.h"
#include "core/rng.h"
#include "layers/decoder.h"
#include "support/testing.h"
#include "train/objective.h"
#include "trainer_fixture.h"

using namespace linea;
using namespace linea::testing;

namespace {

struct LossAndGrads {
  double loss = 0;
  std::map<std::string, Tensor> grads;
};

// One micro-batch of the tiny recipe through make_objective, with dropout so that the
// recomputed forward must replay the same masks.
LossAndGrads micro_batch(const std::string& recipe, bool recompute) {
  Config c = load_config(recipe, {str_cat("train.recompute=", recompute ? "true" : "false"), "model.dropout=0.1"});
  std::unique_ptr<TrainingObjective> objective = make_objective(c, Device::cpu(), DType::f32);
  EXPECT_EQ(dynamic_cast<Decoder&>(objective->model()).recompute(), recompute);
  Generator init(11);
  objective->init_parameters(init);
  default_generator().set_state(5, 0);
  Variable loss = objective->train_loss({0, 1, 2, 3}, 0).loss;
  loss.backward();
  LossAndGrads out{loss.data().item(), {}};
  for (const auto& [name, p] : objective->model().named_parameters()) out.grads[name] = p.grad();
  return out;
}

TEST(Recompute, DecoderGivesTheSameLossAndGradients) {
  TempDir dir;
  const std::string recipe = TinyRun::get().recipe(dir, "train: {batch_size: 4, micro_batch_size: 4}\n");
  LossAndGrads plain = micro_batch(recipe, false), recomputed = micro_batch(recipe, true);
  EXPECT_EQ(plain.loss, recomputed.loss);
  ASSERT_EQ(plain.grads.size(), recomputed.grads.size());
  for (const auto& [name, grad] : plain.grads) {
    ASSERT_TRUE(grad.defined()) << name;
    EXPECT_TRUE(all_close(recomputed.grads[name], grad, 1e-6, 1e-5)) << name;
  }
}

}  // namespace
