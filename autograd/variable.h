// Variable: a Tensor plus what reverse-mode autodiff needs (requires_grad, .grad, the
// Node that produced it, gradient-ready hooks). Flashlight-style: core knows nothing of
// this; every differentiable op takes and returns Variables.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace linea {

struct Node;
struct VariableImpl;

class Variable {
 public:
  using Hook = std::function<void(Variable&)>;

  Variable() = default;
  explicit Variable(Tensor data, bool requires_grad = false);

  bool defined() const { return impl_ != nullptr; }
  const Tensor& data() const;
  // Replaces the value in place (optimizers, loading); the graph is not involved.
  void set_data(Tensor t);
  const Shape& shape() const { return data().shape(); }
  int64_t dim() const { return data().dim(); }
  int64_t size(int64_t d) const { return data().size(d); }
  int64_t numel() const { return data().numel(); }
  DType dtype() const { return data().dtype(); }
  Device device() const { return data().device(); }

  bool requires_grad() const;
  Variable& set_requires_grad(bool r);
  bool is_leaf() const;
  const Tensor& grad() const;  // undefined until a backward reaches this leaf
  void set_grad(Tensor g);
  void zero_grad();            // drops the gradient (it is re-created on the next backward)
  const std::shared_ptr<Node>& grad_fn() const;
  int output_nr() const;

  // A new leaf sharing this value, cut from the graph.
  Variable detach() const;
  // Called once per backward when this leaf's gradient is final (all contributions summed
  // into .grad). Data-parallel training starts bucket all-reduces from these hooks.
  void register_hook(Hook hook);

  // Runs backprop from this variable; grad defaults to ones for a scalar.
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;

  const std::shared_ptr<VariableImpl>& impl() const { return impl_; }
  explicit Variable(std::shared_ptr<VariableImpl> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<VariableImpl> impl_;
};

// Where a gradient flows: output `input_nr` of `node` is fed (grad_fn of non-leaves, or
// the AccumulateGrad node of a leaf).
struct Edge {
  std::shared_ptr<Node> node;
  int input_nr = 0;
  bool valid() const { return node != nullptr; }
};

struct VariableImpl {
  Tensor data;
  Tensor grad;
  bool requires_grad = false;
  std::shared_ptr<Node> grad_fn;  // null for leaves
  int output_nr = 0;
  std::shared_ptr<Node> accumulator;  // leaves: created on first use in a graph
  std::vector<Variable::Hook> hooks;
};

// Thread-local switch for recording the graph.
bool grad_mode_enabled();
void set_grad_mode(bool enabled);

class NoGradGuard {
 public:
  NoGradGuard() : prev_(grad_mode_enabled()) { set_grad_mode(false); }
  ~NoGradGuard() { set_grad_mode(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

class EnableGradGuard {
 public:
  EnableGradGuard() : prev_(grad_mode_enabled()) { set_grad_mode(true); }
  ~EnableGradGuard() { set_grad_mode(prev_); }
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool prev_;
};

}  // namespace linea
