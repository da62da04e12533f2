// Node: one recorded op in the graph. It keeps what its backward needs (captured by the
// backward function) and the edges to the nodes that produced its inputs. The engine
// calls apply() once with the summed gradients of every output, then release().
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "autograd/variable.h"

namespace linea {

// Metadata of an output, so a missing gradient can be materialized as zeros.
struct OutputMeta {
  Shape shape;
  DType dtype;
  Device device;
};

struct Node {
  virtual ~Node() = default;
  // grads[i] is dL/d(output i), undefined when no path reached that output.
  // Returns dL/d(input j) for each input (undefined where not needed).
  virtual std::vector<Tensor> apply(std::vector<Tensor>& grads) = 0;
  // Frees what the backward saved; called after apply unless the graph is retained.
  virtual void release() {}
  virtual std::string name() const = 0;

  std::vector<Edge> next;           // one per input
  std::vector<OutputMeta> outputs;  // one per output
};

// The node of an op: its backward is a function that owns the saved tensors.
struct FunctionNode : Node {
  using Backward = std::function<std::vector<Tensor>(std::vector<Tensor>& grads)>;
  FunctionNode(std::string op_name, Backward fn) : op_name(std::move(op_name)), backward(std::move(fn)) {}
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override;
  void release() override { backward = nullptr; }
  std::string name() const override { return op_name; }
  // True when input i's gradient is wanted (lets a backward skip work).
  bool needs_grad(size_t i) const { return i < next.size() && next[i].valid(); }

  std::string op_name;
  Backward backward;
};

// Sink of a leaf: adds the incoming gradient into .grad and fires the leaf's hooks.
struct AccumulateGrad : Node {
  explicit AccumulateGrad(std::weak_ptr<VariableImpl> leaf) : leaf(std::move(leaf)) {}
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override;
  std::string name() const override { return "AccumulateGrad"; }
  std::weak_ptr<VariableImpl> leaf;
};

// The edge a gradient for `v` should follow (invalid when v needs no gradient).
Edge gradient_edge(const Variable& v);

// Records `outputs` as produced by an op with the given inputs and backward, when grad
// mode is on and some input requires grad. Returns the output Variables. The backward
// receives one gradient per output (zeros where none arrived) and returns one per input.
std::vector<Variable> record_op(const std::string& name, std::vector<Tensor> outputs,
                                const std::vector<Variable>& inputs, FunctionNode::Backward backward);
// needs[i]: whether input i wants a gradient (e.g. a frozen weight does not), so a
// backward can skip work; it may still return a tensor there, which is dropped.
using NeedsGrad = std::vector<bool>;
// Single-output convenience.
Variable record_op(const std::string& name, Tensor output, const std::vector<Variable>& inputs,
                   std::function<std::vector<Tensor>(const Tensor& grad, const NeedsGrad& needs)> backward);

}  // namespace linea
