// Optimizers over named parameter groups: the Optimizer base (per-parameter state tensors,
// checkpointed as /optim/<param>/<state>; f32 master copies of bf16/f16 params), AdamW, SGD.
// Sharding is a capability of the interface: an optimizer whose update is elementwise can
// be built to own only some elements of each parameter (ZeRO-1), and the trainer drives
// sharded and replicated optimizers through the same calls.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "autograd/variable.h"
#include "core/dist/communicator.h"

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

// A run of one parameter's elements (in its row-major flattened order).
struct ParamSlice {
  std::string name;    // a trained parameter of the optimizer's groups
  int64_t begin = 0;   // first element
  int64_t length = 0;  // number of elements
};
// The slices of the trained parameters one data-parallel rank updates; nullopt: all of them.
using OwnedSlices = std::optional<std::vector<ParamSlice>>;

// Whether an optimizer's state and update can be partitioned across data-parallel ranks.
enum class Sharding {
  // An update reads a whole parameter (Muon orthogonalizes whole matrices): every rank
  // keeps the full state and makes the same update.
  none,
  // Each element's update reads only its own gradient and state (AdamW, SGD): any run of
  // elements can be owned, and updated, by one rank alone (ZeRO-1).
  elementwise,
};

// Trains the parameters of its groups that require grad (frozen ones are skipped, and so
// is any parameter whose grad is undefined at a step). State tensors are f32 (f64 for
// f64 params) on the parameter's device, created as zeros at construction. A bf16/f16
// parameter also gets "master", an f32 copy taken at construction: updates apply to it and
// the parameter receives it rounded.
//
// Built with `owned` slices (ZeRO-1, for a Sharding::elementwise optimizer), it keeps state
// for those elements alone and step() updates only them, reading their gradient from the
// same elements of the parameter's .grad; the elements other ranks own stay as they are
// until the caller gathers them (DataParallel::sync_parameters). Owned elements change
// exactly as an unsharded step would change them.
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  virtual const char* kind() const = 0;  // "adamw", "sgd": the /optim "kind" attribute
  // What the update allows (declared by each optimizer at construction).
  Sharding sharding() const { return sharding_; }
  // Built with owned slices: updates only those.
  bool sharded() const { return sharded_; }
  // One update with learning rate lr (times each group's lr_scale).
  void step(double lr);
  // Drops every gradient (the next backward creates fresh ones).
  void zero_grad();
  // Updates taken so far (AdamW's bias correction uses step_count() + 1 in the next step).
  int64_t step_count() const { return step_count_; }
  // The live state tensors of an unsharded optimizer (not copies: clone them to keep a
  // snapshot across steps). InternalError when sharded: gather_state() assembles that.
  OptimizerState state() const;
  // The full state in state()'s layout (parameter-shaped tensors), the same on every rank.
  // Sharded, it is a collective every rank must call (each fills its slices, zeros
  // elsewhere, and a sum over ranks joins them; the slices of all ranks must cover every
  // element); unsharded, it is state() and communicates nothing.
  OptimizerState gather_state(Communicator& comm) const;
  // Copies a full state (state()'s layout, from any world size; any dtype/device, converted)
  // into this optimizer's state, taking only the owned elements when sharded, and sets the
  // step count; the (owned) elements of a bf16/f16 parameter are then set to the restored
  // master, rounded. Throws CheckpointError naming the parameter for a missing or extra
  // parameter or state name, or a shape mismatch; nothing is changed then.
  void load_state(const OptimizerState& state, int64_t step_count);

 protected:
  // `owned`: the slices this rank updates (trained, dense parameters of `groups`, disjoint;
  // several may cover one parameter), or nullopt for all of every trained parameter.
  // Throws linea::Error for bad slices, ConfigError when `sharding` is none.
  Optimizer(std::vector<ParamGroup> groups, Sharding sharding, OwnedSlices owned);

  // The elements of one parameter this optimizer updates (all of them unless sharded).
  struct Slot {
    std::string name;
    Variable param;
    int64_t begin, length;
    double lr_scale;
    double weight_decay;
    std::map<std::string, Tensor> state;  // each shaped like value()
    // The parameter itself when the slot covers all of it, else a flat [length] view.
    Tensor value() const { return range(param.data()); }
    // Where updates apply: the master for bf16/f16 params, else value().
    Tensor weights() const;
    // The slot's elements of a tensor shaped like the parameter (its gradient, a state).
    Tensor range(const Tensor& t) const;
  };
  // Whether a parameter (by name and value) keeps a state; empty: every parameter does.
  using StateFilter = std::function<bool(const std::string& name, const Variable& param)>;
  // Adds a zero state tensor `state_name` to every slot whose parameter `applies` accepts
  // (Muon: a momentum for matrices, AdamW's moments for the rest).
  void add_state(const std::string& state_name, StateFilter applies = {});
  // Updates one slot. grad is dense, shaped like slot.value(), with the parameter's dtype
  // and device; lr already includes the group's lr_scale; step is 1-based.
  virtual void update(Slot& slot, const Tensor& grad, double lr, int64_t step) = 0;

 private:
  std::vector<std::string> state_names(const std::string& name, const Variable& param) const;

  NamedParams trained_;     // every trained parameter, in group order (also those not owned)
  std::vector<Slot> slots_;
  std::vector<std::pair<std::string, StateFilter>> added_states_;  // add_state's, in order
  Sharding sharding_;
  bool sharded_;
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
  explicit AdamW(std::vector<ParamGroup> groups, AdamWOptions options = {}, OwnedSlices owned = std::nullopt);
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
  explicit SGD(std::vector<ParamGroup> groups, SGDOptions options = {}, OwnedSlices owned = std::nullopt);
  const char* kind() const override { return "sgd"; }

 private:
  void update(Slot& slot, const Tensor& grad, double lr, int64_t step) override;
  SGDOptions options_;
};

// Muon (Kimi's Moonlight recipe, specs/kimi_linear.md §4.5) for the 2-D weights it is given,
// AdamW for every other parameter (embeddings, the head, norms, biases, gates: whatever
// `adamw_params` patterns match, and every parameter that is not a matrix):
//   M = μ M + g;  u = g + μ M (nesterov) or M;  O = NS5(u), five Newton-Schulz steps
//   X <- a X + (b A + c A²) X, A = X Xᵀ, (a, b, c) = (3.4445, -4.7750, 2.0315), from
//   X = u / (‖u‖_F + 1e-7) (on the transpose when rows > cols); the update is
//   O · 0.2 · sqrt(max(rows, cols)), which makes its RMS match AdamW's (~0.2), and
//   θ <- θ - lr (update + weight_decay θ).
// An update reads a whole matrix, so it is not sharded: under data parallelism every rank
// holds the full, all-reduced gradient and orthogonalizes the full matrix itself (the same
// result on every rank); ZeRO-1 sharding is refused for it.
struct MuonOptions {
  double momentum = 0.95;
  bool nesterov = true;
  int64_t ns_steps = 5;
  AdamWOptions adamw;                      // for the parameters Muon does not take
  std::vector<std::string> adamw_params;   // name substrings that go to AdamW even when 2-D
};

class Muon : public Optimizer {
 public:
  explicit Muon(std::vector<ParamGroup> groups, MuonOptions options = {});
  const char* kind() const override { return "muon"; }
  // Whether Muon (rather than AdamW) updates this parameter.
  bool takes(const std::string& name, const Variable& param) const;

 private:
  void update(Slot& slot, const Tensor& grad, double lr, int64_t step) override;
  MuonOptions options_;
};

// The Newton-Schulz orthogonalization Muon applies (steps iterations on a 2-D f32/f64
// tensor): singular values move towards 1 (into roughly [0.7, 1.2] after 5 steps) with the
// singular vectors kept.
Tensor newton_schulz(const Tensor& g, int64_t steps);

}  // namespace linea
