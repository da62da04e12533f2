// Optimizers over named parameter groups: the Optimizer base (per-parameter state tensors,
// checkpointed as /optim/<param>/<state>; f32 master copies of bf16/f16 params), AdamW, SGD.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "autograd/variable.h"

namespace linea {

using NamedParams = std::vector<std::pair<std::string, Variable>>;

struct ParamGroup {
  NamedParams params;
  double lr_scale = 1.0;      // the group's lr is step(lr) * lr_scale
  double weight_decay = 0.0;
};

// Splits parameters into two groups, always both and in this order: [0] decays with
// `weight_decay`; [1] has weight decay 0 and holds every parameter whose name contains
// any of `no_decay_patterns` as a substring (e.g. {"norm", "bias", "embed_tokens"}).
std::vector<ParamGroup> make_param_groups(const NamedParams& named_params, double weight_decay,
                                          const std::vector<std::string>& no_decay_patterns);

// Parameter name -> state name ("exp_avg", "exp_avg_sq", "momentum_buffer", "master") -> tensor.
using OptimizerState = std::map<std::string, std::map<std::string, Tensor>>;

// Trains the parameters of its groups that require grad (frozen ones are skipped, and so
// is any parameter whose grad is undefined at a step). State tensors are f32 (f64 for
// f64 params) on the parameter's device, created as zeros at construction. A bf16/f16
// parameter also gets "master", an f32 copy taken at construction: updates apply to it and
// the parameter receives it rounded.
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  virtual const char* kind() const = 0;  // "adamw", "sgd": the /optim "kind" attribute
  // One update with learning rate lr (times each group's lr_scale).
  void step(double lr);
  // Drops every gradient (the next backward creates fresh ones).
  void zero_grad();
  // Updates taken so far (AdamW's bias correction uses step_count() + 1 in the next step).
  int64_t step_count() const { return step_count_; }
  // The live state tensors (not copies: clone them to keep a snapshot across steps).
  OptimizerState state() const;
  // Copies `state` into this optimizer's state (any dtype/device; converted) and sets the
  // step count; a bf16/f16 parameter is then set to its restored master, rounded. Throws
  // CheckpointError naming the parameter for a missing or extra parameter or state name,
  // or a shape mismatch; nothing is changed then.
  void load_state(const OptimizerState& state, int64_t step_count);

 protected:
  explicit Optimizer(std::vector<ParamGroup> groups);

  struct Slot {
    std::string name;
    Variable param;
    double lr_scale;
    double weight_decay;
    std::map<std::string, Tensor> state;
    // Where updates apply: the master for bf16/f16 params, else the parameter's data.
    Tensor weights() const;
  };
  // Adds a zero state tensor `state_name` to every trained parameter.
  void add_state(const std::string& state_name);
  // Updates one parameter. grad is dense with the parameter's dtype, shape and device;
  // lr already includes the group's lr_scale; step is 1-based.
  virtual void update(Slot& slot, const Tensor& grad, double lr, int64_t step) = 0;

 private:
  std::vector<Slot> slots_;
  int64_t step_count_ = 0;
};

// torch.optim.AdamW: decoupled weight decay (p *= 1 - lr * wd) from each group's
// weight_decay, bias-corrected moments; one fused kernel per parameter.
// Defaults are the decoder training defaults (betas 0.9, 0.95; eps 1e-8).
struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
};

class AdamW : public Optimizer {
 public:
  explicit AdamW(std::vector<ParamGroup> groups, AdamWOptions options = {});
  const char* kind() const override { return "adamw"; }

 private:
  void update(Slot& slot, const Tensor& grad, double lr, int64_t step) override;
  AdamWOptions options_;
};

// torch.optim.SGD without dampening: d = g + wd * p (each group's weight_decay is L2,
// coupled); with momentum, buf = momentum * buf + d (buf starts at 0, so the first step
// gives buf = d) and d = buf, or d + momentum * buf with nesterov; p -= lr * d.
struct SGDOptions {
  double momentum = 0.0;
  bool nesterov = false;  // requires momentum > 0
};

class SGD : public Optimizer {
 public:
  explicit SGD(std::vector<ParamGroup> groups, SGDOptions options = {});
  const char* kind() const override { return "sgd"; }

 private:
  void update(Slot& slot, const Tensor& grad, double lr, int64_t step) override;
  SGDOptions options_;
};

}  // namespace linea
