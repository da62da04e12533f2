// Module: a tree of named parameters (Variables), buffers (Tensors) and submodules with
// stable dotted names ("layers.3.self_attn.q_proj.weight"), train/eval mode and freezing.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/variable.h"

namespace linea {

class Communicator;

// What Module::after_step is told after an optimizer step.
struct StepEnd {
  int64_t step;  // optimizer steps completed, this one included
  // The data-parallel ranks (one when training alone): statistics a module gathered from
  // its rank's batch are combined over it, so every replica makes the same change.
  Communicator& comm;
};

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Names are non-empty, contain no '.', and are unique within this module across
  // parameters, buffers and submodules (InternalError otherwise). Parameters are leaves;
  // `v` is marked requires_grad. Returns the registered handle.
  Variable register_parameter(const std::string& name, Variable v);
  Tensor register_buffer(const std::string& name, Tensor t);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    add_module(name, m);
    return m;
  }

  // Depth-first in registration order: this module's own entries, then each submodule's
  // under "<submodule name>.". A Variable registered under several names is listed once,
  // under its first name.
  std::vector<std::pair<std::string, Variable>> named_parameters() const;
  std::vector<Variable> parameters() const;
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  // Every descendant with its dotted path; this module itself comes first under "".
  std::vector<std::pair<std::string, Module*>> named_modules();
  // The parameter or buffer at a dotted path; InternalError when absent.
  Variable parameter(const std::string& path) const;
  Tensor buffer(const std::string& path) const;

  // Training mode (dropout on) for this module and all descendants.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Glob over dotted parameter names: '*' matches any run of characters (dots included),
  // every other character matches itself, and the pattern must cover the whole name, e.g.
  // "embed_tokens.*", "layers.*.self_attn.*", "*norm.weight", "*". freeze clears
  // requires_grad (and drops the gradient) of each match, unfreeze sets it. Both return
  // the number of parameters matched and throw ConfigError when there are none.
  int64_t freeze(const std::string& pattern);
  int64_t unfreeze(const std::string& pattern);

  // Moves parameters and buffers to `device`; floating ones are also converted to `dtype`
  // (integer buffers keep theirs). Parameters change in place through Variable::set_data,
  // so handles held elsewhere (optimizers, layers) stay valid; gradients follow.
  void to(Device device, DType dtype);
  // Drops every parameter's gradient.
  void zero_grad();

  // Called by the trainer after each optimizer step, once parameters are updated (and equal
  // on every rank), for state that training changes outside the gradient: an MoE router
  // moving its expert biases by the load it saw (DeepSeek-V3's auxiliary-loss-free
  // balancing). Keep such state in buffers: checkpoints save and restore them. Default:
  // nothing.
  virtual void after_step(const StepEnd& step);
  // Calls after_step on this module and every descendant, parents before children.
  void run_after_step(const StepEnd& step);
  // Elements over all (distinct) parameters, or only those with requires_grad.
  int64_t num_parameters(bool trainable_only = false) const;

 private:
  std::vector<std::pair<std::string, const Module*>> tree() const;  // named_modules, read-only
  void add_module(const std::string& name, std::shared_ptr<Module> m);
  void check_new_name(const std::string& name) const;
  int64_t set_requires_grad_matching(const std::string& pattern, bool requires_grad, const char* op);

  std::vector<std::pair<std::string, Variable>> params_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// Whether `name` matches `pattern` ('*' = any run of characters, including none).
bool glob_match(const std::string& pattern, const std::string& name);

}  // namespace linea
