#include "optim/optimizer.h"

#include <algorithm>
#include <set>

namespace linea {

namespace {
bool is_half(DType t) { return t == DType::bf16 || t == DType::f16; }
DType state_dtype(DType param) { return param == DType::f64 ? DType::f64 : DType::f32; }
// Elements [begin, begin + length) of a dense tensor, as a 1-D view.
Tensor flat_range(const Tensor& t, int64_t begin, int64_t length) {
  return t.view({t.numel()}).narrow(0, begin, length);
}

std::string names_str(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& name : names) s += (s.empty() ? "" : ", ") + name;
  return s;
}

// Checks that `slices` name trained parameters, stay inside them and do not overlap.
void check_slices(const std::vector<ParamSlice>& slices, const std::map<std::string, Variable>& trained) {
  std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> ranges;
  for (const ParamSlice& s : slices) {
    auto it = trained.find(s.name);
    LINEA_CHECK_T(Error, it != trained.end(), "optimizer: slice of '", s.name,
                  "' names no trained parameter of the groups, expected one of the requires_grad parameters");
    LINEA_CHECK_T(Error, s.begin >= 0 && s.length >= 0 && s.begin + s.length <= it->second.numel(),
                  "optimizer: slice [", s.begin, ", ", s.begin + s.length, ") of '", s.name,
                  "' is outside the parameter's ", it->second.numel(), " elements");
    ranges[s.name].emplace_back(s.begin, s.begin + s.length);
  }
  for (auto& [name, list] : ranges) {
    std::sort(list.begin(), list.end());
    for (size_t i = 1; i < list.size(); ++i)
      LINEA_CHECK_T(Error, list[i].first >= list[i - 1].second, "optimizer: slices [", list[i - 1].first, ", ",
                    list[i - 1].second, ") and [", list[i].first, ", ", list[i].second, ") of '", name,
                    "' overlap, expected disjoint slices");
  }
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

Tensor Optimizer::Slot::range(const Tensor& t) const {
  return begin == 0 && length == param.numel() ? t : flat_range(t, begin, length);
}

Tensor Optimizer::Slot::weights() const {
  auto it = state.find("master");
  return it != state.end() ? it->second : value();
}

Optimizer::Optimizer(std::vector<ParamGroup> groups, Sharding sharding, OwnedSlices owned)
    : sharding_(sharding), sharded_(owned.has_value()) {
  LINEA_CHECK_T(ConfigError, !owned || sharding != Sharding::none, "optimizer: its update needs whole parameters, ",
                "so its state cannot be partitioned across ranks; expected dist.shard_optimizer: false");
  std::set<std::string> names;
  std::set<const VariableImpl*> impls;
  std::map<std::string, Variable> by_name;
  std::map<std::string, std::pair<double, double>> group_of;  // lr_scale, weight_decay
  for (ParamGroup& group : groups) {
    for (auto& [name, param] : group.params) {
      LINEA_CHECK_T(Error, param.defined(), "optimizer: parameter '", name, "' is undefined");
      LINEA_CHECK_T(Error, names.insert(name).second, "optimizer: parameter name '", name, "' appears twice");
      LINEA_CHECK_T(Error, impls.insert(param.impl().get()).second, "optimizer: parameter '", name,
                    "' is the same variable as an earlier one (list tied parameters once)");
      if (!param.requires_grad()) continue;
      LINEA_CHECK_T(Error, param.data().is_contiguous(), "optimizer: parameter '", name, "' must be dense, got ",
                    param.data().desc());
      trained_.emplace_back(name, param);
      by_name[name] = param;
      group_of[name] = {group.lr_scale, group.weight_decay};
    }
  }
  std::vector<ParamSlice> slices;
  if (owned) {
    check_slices(*owned, by_name);
    slices = std::move(*owned);
  } else {
    for (const auto& [name, param] : trained_) slices.push_back({name, 0, param.numel()});
  }
  for (const ParamSlice& s : slices) {
    const auto [lr_scale, weight_decay] = group_of.at(s.name);
    Slot slot{s.name, by_name.at(s.name), s.begin, s.length, lr_scale, weight_decay, {}};
    if (is_half(slot.param.dtype())) slot.state["master"] = slot.value().to(DType::f32).clone();
    slots_.push_back(std::move(slot));
  }
}

void Optimizer::add_state(const std::string& state_name, StateFilter applies) {
  for (Slot& slot : slots_)
    if (!applies || applies(slot.name, slot.param))
      slot.state[state_name] = Tensor::zeros(slot.value().shape(), state_dtype(slot.param.dtype()), slot.param.device());
  added_states_.emplace_back(state_name, std::move(applies));
}

std::vector<std::string> Optimizer::state_names(const std::string& name, const Variable& param) const {
  std::vector<std::string> names;
  for (const auto& [state_name, applies] : added_states_)
    if (!applies || applies(name, param)) names.push_back(state_name);
  if (is_half(param.dtype())) names.push_back("master");
  std::sort(names.begin(), names.end());
  return names;
}

void Optimizer::step(double lr) {
  NoGradGuard no_grad;
  for (Slot& slot : slots_) {
    const Tensor& grad = slot.param.grad();
    if (!grad.defined() || slot.length == 0) continue;
    const Tensor& p = slot.param.data();
    LINEA_CHECK(grad.shape() == p.shape() && grad.dtype() == p.dtype() && grad.device() == p.device(),
                "optimizer: gradient ", grad.desc(), " of '", slot.name, "' does not match the parameter ", p.desc());
    update(slot, slot.range(grad.contiguous()), lr * slot.lr_scale, step_count_ + 1);
  }
  ++step_count_;
}

void Optimizer::zero_grad() {
  for (auto& [name, param] : trained_) param.zero_grad();
}

OptimizerState Optimizer::state() const {
  LINEA_CHECK_T(InternalError, !sharded_, "optimizer: state() of a sharded optimizer holds only this rank's ",
                "slices; expected gather_state(comm)");
  OptimizerState out;
  for (const Slot& slot : slots_) out[slot.name] = slot.state;
  return out;
}

OptimizerState Optimizer::gather_state(Communicator& comm) const {
  if (!sharded_) return state();
  OptimizerState full;
  for (const auto& [name, param] : trained_) {
    for (const std::string& state_name : state_names(name, param)) {
      Tensor whole = Tensor::zeros(param.shape(), state_dtype(param.dtype()), param.device());
      for (const Slot& slot : slots_)
        if (slot.name == name) flat_range(whole, slot.begin, slot.length).copy_(slot.state.at(state_name).reshape({slot.length}));
      // Slices are disjoint, so the sum over ranks places each rank's values exactly.
      comm.all_reduce(whole, ReduceOp::sum);
      full[name][state_name] = whole;
    }
  }
  return full;
}

void Optimizer::load_state(const OptimizerState& state, int64_t step_count) {
  LINEA_CHECK_T(CheckpointError, step_count >= 0, "optimizer state: step count ", step_count, " is negative");
  std::set<std::string> trained;
  for (const auto& [name, param] : trained_) {
    trained.insert(name);
    const std::vector<std::string> expected = state_names(name, param);
    auto it = state.find(name);
    LINEA_CHECK_T(CheckpointError, it != state.end(), "optimizer state: parameter '", name,
                  "' is missing (expected states: ", names_str(expected), ")");
    for (const auto& [state_name, t] : it->second)
      LINEA_CHECK_T(CheckpointError, std::find(expected.begin(), expected.end(), state_name) != expected.end(),
                    "optimizer state: parameter '", name, "' has unexpected state '", state_name,
                    "' (expected: ", names_str(expected), ")");
    for (const std::string& state_name : expected) {
      auto found = it->second.find(state_name);
      LINEA_CHECK_T(CheckpointError, found != it->second.end() && found->second.defined(), "optimizer state: parameter '",
                    name, "' lacks state '", state_name, "'");
      LINEA_CHECK_T(CheckpointError, found->second.shape() == param.shape(), "optimizer state: '", name, "/",
                    state_name, "' has shape ", shape_str(found->second.shape()), ", expected ",
                    shape_str(param.shape()), " (the parameter's shape)");
    }
  }
  for (const auto& [name, states] : state)
    LINEA_CHECK_T(CheckpointError, trained.count(name), "optimizer state: parameter '", name,
                  "' is not trained by this optimizer (unknown or frozen)");

  for (Slot& slot : slots_) {
    const auto& saved = state.at(slot.name);
    for (auto& [state_name, mine] : slot.state) mine.copy_(slot.range(saved.at(state_name).contiguous()));
    auto master = slot.state.find("master");
    if (master != slot.state.end()) {
      Tensor value = slot.value();
      value.copy_(master->second);
    }
  }
  step_count_ = step_count;
}

}  // namespace linea
