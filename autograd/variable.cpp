#include "autograd/variable.h"

#include "autograd/engine.h"
#include "autograd/node.h"

namespace linea {

namespace {
thread_local bool g_grad_enabled = true;
}
bool grad_mode_enabled() { return g_grad_enabled; }
void set_grad_mode(bool enabled) { g_grad_enabled = enabled; }

Variable::Variable(Tensor data, bool requires_grad) : impl_(std::make_shared<VariableImpl>()) {
  impl_->data = std::move(data);
  set_requires_grad(requires_grad);
}

const Tensor& Variable::data() const {
  LINEA_CHECK(impl_, "Variable: use of an undefined variable");
  return impl_->data;
}

void Variable::set_data(Tensor t) {
  LINEA_CHECK(impl_, "Variable: use of an undefined variable");
  impl_->data = std::move(t);
}

bool Variable::requires_grad() const { return impl_ && impl_->requires_grad; }

Variable& Variable::set_requires_grad(bool r) {
  LINEA_CHECK(impl_, "Variable: use of an undefined variable");
  LINEA_CHECK(!r || is_floating(impl_->data.dtype()), "requires_grad: only floating tensors can require gradients, got ",
              impl_->data.desc());
  LINEA_CHECK(impl_->grad_fn == nullptr, "requires_grad: can only be changed on leaf variables");
  impl_->requires_grad = r;
  return *this;
}

bool Variable::is_leaf() const { return !impl_ || impl_->grad_fn == nullptr; }
const Tensor& Variable::grad() const { return impl_->grad; }
void Variable::set_grad(Tensor g) { impl_->grad = std::move(g); }
void Variable::zero_grad() { impl_->grad = Tensor(); }
const std::shared_ptr<Node>& Variable::grad_fn() const { return impl_->grad_fn; }
int Variable::output_nr() const { return impl_->output_nr; }

Variable Variable::detach() const { return Variable(data(), false); }

void Variable::register_hook(Hook hook) {
  LINEA_CHECK(is_leaf() && requires_grad(), "register_hook: hooks are for leaf variables that require grad");
  impl_->hooks.push_back(std::move(hook));
}

void Variable::backward(const Tensor& grad, bool retain_graph) const {
  run_backward({*this}, {grad}, retain_graph);
}

}  // namespace linea
