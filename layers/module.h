// Module: a tree of named parameters (Variables), buffers (Tensors) and submodules with
// stable dotted names ("layers.3.self_attn.q_proj.weight"), train/eval mode and freezing.
// A registered submodule can be replaced by path (LoRA wrapping a Linear): owners hold
// their children as Child<M> handles, which follow the replacement.
#pragma once
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/variable.h"
#include "core/rng.h"

namespace linea {

class Communicator;

// What Module::after_step is told after an optimizer step.
struct StepEnd {
  int64_t step;  // optimizer steps completed, this one included
  // The data-parallel ranks (one when training alone): statistics a module gathered from
  // its rank's batch are combined over it, so every replica makes the same change.
  Communicator& comm;
};

class Module;

// Where a registered submodule lives: its owner's registry and every Child handle to it
// share this, so a replacement reaches them all.
struct ModuleSlot {
  std::shared_ptr<Module> module;
  std::function<bool(const Module*)> accepts;  // whether a replacement has the owner's type
};

// An owner's handle to a child it registered, used like a shared_ptr<M> (->, *, bool); it
// always points at the slot's current module, which is an M or a subclass of M.
template <class M>
class Child {
 public:
  Child() = default;
  explicit Child(std::shared_ptr<ModuleSlot> slot) : slot_(std::move(slot)) {}
  M* get() const { return slot_ ? static_cast<M*>(slot_->module.get()) : nullptr; }
  M* operator->() const { return get(); }
  M& operator*() const { return *get(); }
  explicit operator bool() const { return get() != nullptr; }
  friend bool operator==(const Child& c, std::nullptr_t) { return !c; }
  friend bool operator!=(const Child& c, std::nullptr_t) { return bool(c); }

 private:
  std::shared_ptr<ModuleSlot> slot_;
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
  Child<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    return Child<M>(add_module(name, std::move(m), [](const Module* r) { return dynamic_cast<const M*>(r) != nullptr; }));
  }
  // Puts `replacement` where the submodule at dotted `path` ("layers.0.self_attn.q_proj")
  // was: its owner's forward now calls it, and its parameters and buffers appear under
  // the same path, named as the replacement names them (a Linear subclass built on the
  // original's weight keeps "<path>.weight"). Returns the module it replaced. Replace
  // before an optimizer or DataParallel takes the parameters. ConfigError when no
  // submodule has that path; InternalError for a null replacement or one that is not of
  // the type its owner holds (a Linear's replacement must derive from Linear).
  std::shared_ptr<Module> replace_module(const std::string& path, std::shared_ptr<Module> replacement);

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
  // Initializes what a model's generic init does not know: it draws Linear weights and
  // embeddings from N(0, init_std) and sets norms to 1, then calls this on every module, so
  // a module with other parameters (KDA's decay rates and conv taps) draws them here from
  // the same seeded generator. Default: nothing.
  virtual void init_own_parameters(Generator& gen);
  // Calls after_step on this module and every descendant, parents before children.
  void run_after_step(const StepEnd& step);
  // Elements over all (distinct) parameters, or only those with requires_grad.
  int64_t num_parameters(bool trainable_only = false) const;

 private:
  std::vector<std::pair<std::string, const Module*>> tree() const;  // named_modules, read-only
  std::shared_ptr<ModuleSlot> add_module(const std::string& name, std::shared_ptr<Module> m,
                                         std::function<bool(const Module*)> accepts);
  void check_new_name(const std::string& name) const;
  int64_t set_requires_grad_matching(const std::string& pattern, bool requires_grad, const char* op);

  std::vector<std::pair<std::string, Variable>> params_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<ModuleSlot>>> children_;
  bool training_ = true;
};

// Whether `name` matches `pattern` ('*' = any run of characters, including none).
bool glob_match(const std::string& pattern, const std::string& name);

}  // namespace linea
