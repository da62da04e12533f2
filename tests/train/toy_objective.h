// A toy TrainingObjective for trainer tests that need what no real objective reports yet:
// a least-squares fit of 4 features (Linear "proj") plus an auxiliary loss on a parameter
// nothing else uses ("balance", 0.01 * sum of squares: it trains only if the trainer
// backpropagates aux losses), a metric counting train_loss calls, and a module counting
// optimizer steps in a buffer from its after_step hook ("counter.count").
#pragma once
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "layers/linear.h"
#include "train/objective.h"

namespace linea::testing {

// Counts optimizer steps in a buffer from Module::after_step, and refuses a step that does
// not follow the count (as after a resume that did not restore the buffer).
class StepCounter : public Module {
 public:
  StepCounter() { count_ = register_buffer("count", Tensor::zeros({1}, DType::i64)); }
  int64_t count() const { return int64_t(count_.item()); }
  void after_step(const StepEnd& step) override {
    LINEA_CHECK_T(InternalError, step.step == count() + 1, "StepCounter: step ", step.step, " after ", count());
    count_.fill_(double(step.step));
  }

 private:
  Tensor count_;
};

class ToyModel : public Module {
 public:
  ToyModel() {
    proj_ = register_module("proj", std::make_shared<Linear>(4, 1));
    balance_ = register_parameter("balance", Variable(Tensor::ones({3})));
    counter_ = register_module("counter", std::make_shared<StepCounter>());
  }
  const StepCounter& counter() const { return *counter_; }
  const Linear& proj() const { return *proj_; }
  const Variable& balance() const { return balance_; }

 private:
  Child<Linear> proj_;
  Variable balance_;
  Child<StepCounter> counter_;
};

class ToyObjective : public TrainingObjective {
 public:
  Module& model() override { return model_; }
  int64_t num_train_examples() const override { return 64; }
  void init_parameters(Generator&) override {}  // proj zeros, balance ones
  MicroBatchLoss train_loss(const std::vector<int64_t>& indices, int64_t) override {
    calls_ += 1;
    MicroBatchLoss l{fit_loss(indices), int64_t(indices.size()), {}, {}};
    l.aux_losses = {{"l2", scale(sum(pow(model_.balance(), 2.0)), 0.01)}};
    l.metrics = {{"calls", double(calls_)}};
    return l;
  }
  EvalResult evaluate(int64_t, int64_t micro_batch, EvalShard) override {
    NoGradGuard no_grad;
    std::vector<int64_t> first(size_t(micro_batch), 0);
    for (int64_t i = 0; i < micro_batch; ++i) first[size_t(i)] = i;
    EvalResult r;
    r.add_batch(fit_loss(first).data().item(), micro_batch);
    return r;
  }
  double flops_per_token() const override { return 24; }
  std::string tokenizer_sha256() const override { return ""; }

 private:
  // Mean squared error of proj on example i's features (sin i, cos i, sin 2i, cos 2i)
  // against sin i + 2 cos i.
  Variable fit_loss(const std::vector<int64_t>& indices) const {
    const int64_t B = int64_t(indices.size());
    std::vector<double> x, t;
    for (int64_t i : indices) {
      const double a = double(i);
      x.insert(x.end(), {std::sin(a), std::cos(a), std::sin(2 * a), std::cos(2 * a)});
      t.push_back(std::sin(a) + 2 * std::cos(a));
    }
    const Variable pred = model_.proj().forward(Variable(Tensor::from_vector(x, {B, 4})));
    return mean(pow(pred - Variable(Tensor::from_vector(t, {B, 1})), 2.0));
  }

  ToyModel model_;
  int64_t calls_ = 0;
};

}  // namespace linea::testing
