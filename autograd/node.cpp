#include "autograd/node.h"

#include "core/kernels/elementwise.h"

namespace linea {

std::vector<Tensor> FunctionNode::apply(std::vector<Tensor>& grads) {
  LINEA_CHECK(backward != nullptr, "backward through ", op_name,
              " a second time: its saved tensors were freed; call backward(grad, /*retain_graph=*/true) the first time");
  return backward(grads);
}

std::vector<Tensor> AccumulateGrad::apply(std::vector<Tensor>& grads) {
  auto impl = leaf.lock();
  if (!impl || !grads[0].defined()) return {};
  Tensor g = std::move(grads[0]);  // so use_count below counts only other holders
  LINEA_CHECK(g.shape() == impl->data.shape(), "gradient ", g.desc(), " does not match leaf ", impl->data.desc());
  if (!impl->grad.defined()) {
    // The incoming tensor may be shared (add's backward hands dy to both inputs); .grad
    // must own its memory because optimizers and all-reduce update it in place.
    impl->grad = g.storage().use_count() > 1 || !g.is_contiguous() ? g.clone() : g;
  } else {
    impl->grad = kernels::binary_fwd(BinaryOp::add, impl->grad, g);
  }
  Variable v(impl);
  for (auto& hook : impl->hooks) hook(v);
  return {};
}

Edge gradient_edge(const Variable& v) {
  if (!v.defined()) return {};
  const auto& impl = v.impl();
  if (impl->grad_fn) return {impl->grad_fn, impl->output_nr};
  if (!impl->requires_grad) return {};
  if (!impl->accumulator) {
    auto acc = std::make_shared<AccumulateGrad>(impl);
    acc->outputs.push_back({impl->data.shape(), impl->data.dtype(), impl->data.device()});
    impl->accumulator = acc;
  }
  return {impl->accumulator, 0};
}

std::vector<Variable> record_op(const std::string& name, std::vector<Tensor> outputs,
                                const std::vector<Variable>& inputs, FunctionNode::Backward backward) {
  std::vector<Variable> results;
  results.reserve(outputs.size());
  bool track = false;
  if (grad_mode_enabled())
    for (const Variable& v : inputs)
      if (v.defined() && v.requires_grad()) track = true;
  if (!track) {
    for (Tensor& t : outputs) results.emplace_back(std::move(t));
    return results;
  }
  auto node = std::make_shared<FunctionNode>(name, std::move(backward));
  for (const Variable& v : inputs) node->next.push_back(gradient_edge(v));
  for (size_t i = 0; i < outputs.size(); ++i) {
    node->outputs.push_back({outputs[i].shape(), outputs[i].dtype(), outputs[i].device()});
    auto impl = std::make_shared<VariableImpl>();
    impl->data = std::move(outputs[i]);
    impl->requires_grad = true;
    impl->grad_fn = node;
    impl->output_nr = int(i);
    results.emplace_back(std::move(impl));
  }
  return results;
}

Variable record_op(const std::string& name, Tensor output, const std::vector<Variable>& inputs,
                   std::function<std::vector<Tensor>(const Tensor& grad, const NeedsGrad& needs)> backward) {
  NeedsGrad needs;
  for (const Variable& v : inputs) needs.push_back(v.defined() && v.requires_grad());
  auto fn = [bw = std::move(backward), needs](std::vector<Tensor>& grads) { return bw(grads[0], needs); };
  return record_op(name, std::vector<Tensor>{std::move(output)}, inputs, std::move(fn))[0];
}

}  // namespace linea
