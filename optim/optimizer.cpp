#include "optim/optimizer.h"

#include <set>

namespace linea {

namespace {
bool is_half(DType t) { return t == DType::bf16 || t == DType::f16; }
DType state_dtype(DType param) { return param == DType::f64 ? DType::f64 : DType::f32; }

std::string names_str(const std::map<std::string, Tensor>& m) {
  std::string s;
  for (const auto& [name, t] : m) s += (s.empty() ? "" : ", ") + name;
  return s;
}
}  // namespace

std::vector<ParamGroup> make_param_groups(const NamedParams& named_params, double weight_decay,
                                          const std::vector<std::string>& no_decay_patterns) {
  std::vector<ParamGroup> groups(2);
  groups[0].weight_decay = weight_decay;
  for (const auto& [name, param] : named_params) {
    bool no_decay = false;
    for (const std::string& pattern : no_decay_patterns)
      if (name.find(pattern) != std::string::npos) no_decay = true;
    groups[no_decay ? 1 : 0].params.emplace_back(name, param);
  }
  return groups;
}

Tensor Optimizer::Slot::weights() const {
  auto it = state.find("master");
  return it != state.end() ? it->second : param.data();
}

Optimizer::Optimizer(std::vector<ParamGroup> groups) {
  std::set<std::string> names;
  std::set<const VariableImpl*> impls;
  for (ParamGroup& group : groups) {
    for (auto& [name, param] : group.params) {
      LINEA_CHECK_T(Error, param.defined(), "optimizer: parameter '", name, "' is undefined");
      LINEA_CHECK_T(Error, names.insert(name).second, "optimizer: parameter name '", name, "' appears twice");
      LINEA_CHECK_T(Error, impls.insert(param.impl().get()).second, "optimizer: parameter '", name,
                    "' is the same variable as an earlier one (list tied parameters once)");
      if (!param.requires_grad()) continue;
      LINEA_CHECK_T(Error, param.data().is_contiguous(), "optimizer: parameter '", name, "' must be dense, got ",
                    param.data().desc());
      Slot slot{name, param, group.lr_scale, group.weight_decay, {}};
      if (is_half(param.dtype())) slot.state["master"] = param.data().to(DType::f32).clone();
      slots_.push_back(std::move(slot));
    }
  }
}

void Optimizer::add_state(const std::string& state_name) {
  for (Slot& slot : slots_)
    slot.state[state_name] = Tensor::zeros(slot.param.shape(), state_dtype(slot.param.dtype()), slot.param.device());
}

void Optimizer::step(double lr) {
  NoGradGuard no_grad;
  for (Slot& slot : slots_) {
    const Tensor& grad = slot.param.grad();
    if (!grad.defined()) continue;
    const Tensor& p = slot.param.data();
    LINEA_CHECK(grad.shape() == p.shape() && grad.dtype() == p.dtype() && grad.device() == p.device(),
                "optimizer: gradient ", grad.desc(), " of '", slot.name, "' does not match the parameter ", p.desc());
    update(slot, grad.contiguous(), lr * slot.lr_scale, step_count_ + 1);
  }
  ++step_count_;
}

void Optimizer::zero_grad() {
  for (Slot& slot : slots_) slot.param.zero_grad();
}

OptimizerState Optimizer::state() const {
  OptimizerState out;
  for (const Slot& slot : slots_) out[slot.name] = slot.state;
  return out;
}

void Optimizer::load_state(const OptimizerState& state, int64_t step_count) {
  LINEA_CHECK_T(CheckpointError, step_count >= 0, "optimizer state: step count ", step_count, " is negative");
  std::set<std::string> trained;
  for (const Slot& slot : slots_) {
    trained.insert(slot.name);
    auto it = state.find(slot.name);
    LINEA_CHECK_T(CheckpointError, it != state.end(), "optimizer state: parameter '", slot.name,
                  "' is missing (expected states: ", names_str(slot.state), ")");
    for (const auto& [state_name, t] : it->second)
      LINEA_CHECK_T(CheckpointError, slot.state.count(state_name), "optimizer state: parameter '", slot.name,
                    "' has unexpected state '", state_name, "' (expected: ", names_str(slot.state), ")");
    for (const auto& [state_name, mine] : slot.state) {
      auto found = it->second.find(state_name);
      LINEA_CHECK_T(CheckpointError, found != it->second.end() && found->second.defined(), "optimizer state: parameter '",
                    slot.name, "' lacks state '", state_name, "'");
      LINEA_CHECK_T(CheckpointError, found->second.shape() == mine.shape(), "optimizer state: '", slot.name, "/",
                    state_name, "' has shape ", shape_str(found->second.shape()), ", expected ",
                    shape_str(mine.shape()), " (the parameter's shape)");
    }
  }
  for (const auto& [name, states] : state)
    LINEA_CHECK_T(CheckpointError, trained.count(name), "optimizer state: parameter '", name,
                  "' is not trained by this optimizer (unknown or frozen)");

  for (Slot& slot : slots_) {
    const auto& saved = state.at(slot.name);
    for (auto& [state_name, mine] : slot.state) mine.copy_(saved.at(state_name));
    auto master = slot.state.find("master");
    if (master != slot.state.end()) {
      Tensor param = slot.param.data();
      param.copy_(master->second);
    }
  }
  step_count_ = step_count;
}

}  // namespace linea
