#include "optim/sharded_adamw.h"

#include <algorithm>
#include <map>

#include "core/kernels/adamw.h"

namespace linea {

namespace {
bool is_half(DType t) { return t == DType::bf16 || t == DType::f16; }
DType state_dtype(DType param) { return param == DType::f64 ? DType::f64 : DType::f32; }
// Elements [begin, begin + length) of a dense tensor, as a 1-D view.
Tensor flat_range(const Tensor& t, int64_t begin, int64_t length) {
  return t.view({t.numel()}).narrow(0, begin, length);
}
}  // namespace

ShardedAdamW::ShardedAdamW(std::vector<ParamGroup> groups, std::vector<ParamSlice> slices, AdamWOptions options)
    : slices_(std::move(slices)), options_(options) {
  LINEA_CHECK_T(Error, options.beta1 >= 0 && options.beta1 < 1 && options.beta2 >= 0 && options.beta2 < 1,
                "ShardedAdamW: betas must lie in [0, 1), got (", options.beta1, ", ", options.beta2, ")");
  LINEA_CHECK_T(Error, options.eps > 0, "ShardedAdamW: eps must be positive, got ", options.eps);
  std::map<std::string, size_t> by_name;
  for (const ParamGroup& group : groups)
    for (const auto& [name, param] : group.params) {
      LINEA_CHECK_T(Error, param.defined(), "ShardedAdamW: parameter '", name, "' is undefined");
      LINEA_CHECK_T(Error, !by_name.count(name), "ShardedAdamW: parameter name '", name, "' appears twice");
      if (!param.requires_grad()) continue;
      LINEA_CHECK_T(Error, param.data().is_contiguous(), "ShardedAdamW: parameter '", name,
                    "' must be dense, got ", param.data().desc());
      by_name[name] = trained_.size();
      trained_.push_back({name, param, group.lr_scale, group.weight_decay});
    }

  std::map<size_t, std::vector<std::pair<int64_t, int64_t>>> ranges;  // per parameter, to find overlaps
  for (const ParamSlice& s : slices_) {
    auto it = by_name.find(s.name);
    LINEA_CHECK_T(Error, it != by_name.end(), "ShardedAdamW: slice of '", s.name,
                  "' names no trained parameter of the groups, expected one of the requires_grad parameters");
    const Trained& t = trained_[it->second];
    LINEA_CHECK_T(Error, s.begin >= 0 && s.length >= 0 && s.begin + s.length <= t.param.numel(),
                  "ShardedAdamW: slice [", s.begin, ", ", s.begin + s.length, ") of '", s.name,
                  "' is outside the parameter's ", t.param.numel(), " elements");
    ranges[it->second].emplace_back(s.begin, s.begin + s.length);
    Shard shard{it->second, s.begin, s.length, {}};
    const Device dev = t.param.device();
    for (const char* name : {"exp_avg", "exp_avg_sq"})
      shard.state[name] = Tensor::zeros({s.length}, state_dtype(t.param.dtype()), dev);
    if (is_half(t.param.dtype())) shard.state["master"] = flat_range(t.param.data(), s.begin, s.length).to(DType::f32);
    shards_.push_back(std::move(shard));
  }
  for (auto& [index, list] : ranges) {
    std::sort(list.begin(), list.end());
    for (size_t i = 1; i < list.size(); ++i)
      LINEA_CHECK_T(Error, list[i].first >= list[i - 1].second, "ShardedAdamW: slices [", list[i - 1].first, ", ",
                    list[i - 1].second, ") and [", list[i].first, ", ", list[i].second, ") of '",
                    trained_[index].name, "' overlap, expected disjoint slices");
  }
}

std::vector<std::string> ShardedAdamW::state_names(const Trained& t) const {
  std::vector<std::string> names{"exp_avg", "exp_avg_sq"};
  if (is_half(t.param.dtype())) names.push_back("master");
  return names;
}

void ShardedAdamW::step(double lr, const std::vector<Tensor>& grads) {
  LINEA_CHECK_T(Error, grads.size() == shards_.size(), "ShardedAdamW: step got ", grads.size(),
                " gradients, expected one per slice (", shards_.size(), ")");
  NoGradGuard no_grad;
  for (size_t i = 0; i < shards_.size(); ++i) {
    Shard& shard = shards_[i];
    const Trained& t = trained_[shard.trained];
    const Tensor& g = grads[i];
    LINEA_CHECK(g.defined() && g.numel() == shard.length, "ShardedAdamW: gradient ",
                g.defined() ? g.desc() : std::string("(undefined)"), " of slice [", shard.begin, ", ",
                shard.begin + shard.length, ") of '", t.name, "' should hold ", shard.length, " elements");
    if (shard.length == 0) continue;
    const Tensor param = flat_range(t.param.data(), shard.begin, shard.length);
    const Tensor grad = g.reshape({shard.length}).to(param.device(), param.dtype()).contiguous();
    auto master = shard.state.find("master");
    kernels::adamw_update(param, grad, shard.state.at("exp_avg"), shard.state.at("exp_avg_sq"),
                          master != shard.state.end() ? master->second : Tensor(),
                          AdamWStep{lr * t.lr_scale, options_.beta1, options_.beta2, options_.eps, t.weight_decay,
                                    step_count_ + 1});
  }
  ++step_count_;
}

OptimizerState ShardedAdamW::gather_state(Communicator& comm) const {
  OptimizerState full;
  for (size_t i = 0; i < trained_.size(); ++i) {
    const Trained& t = trained_[i];
    for (const std::string& name : state_names(t)) {
      Tensor whole = Tensor::zeros(t.param.shape(), state_dtype(t.param.dtype()), t.param.device());
      for (const Shard& shard : shards_)
        if (shard.trained == i) flat_range(whole, shard.begin, shard.length).copy_(shard.state.at(name));
      // Slices are disjoint, so the sum over ranks places each rank's values exactly.
      comm.all_reduce(whole, ReduceOp::sum);
      full[t.name][name] = whole;
    }
  }
  return full;
}

void ShardedAdamW::load_state(const OptimizerState& full, int64_t step_count) {
  LINEA_CHECK_T(CheckpointError, step_count >= 0, "optimizer state: step count ", step_count, " is negative");
  for (const Trained& t : trained_) {
    auto it = full.find(t.name);
    LINEA_CHECK_T(CheckpointError, it != full.end(), "optimizer state: parameter '", t.name, "' is missing");
    const std::vector<std::string> names = state_names(t);
    for (const auto& [state_name, tensor] : it->second)
      LINEA_CHECK_T(CheckpointError, std::find(names.begin(), names.end(), state_name) != names.end(),
                    "optimizer state: parameter '", t.name, "' has unexpected state '", state_name, "'");
    for (const std::string& state_name : names) {
      auto found = it->second.find(state_name);
      LINEA_CHECK_T(CheckpointError, found != it->second.end() && found->second.defined(),
                    "optimizer state: parameter '", t.name, "' lacks state '", state_name, "'");
      LINEA_CHECK_T(CheckpointError, found->second.shape() == t.param.shape(), "optimizer state: '", t.name, "/",
                    state_name, "' has shape ", shape_str(found->second.shape()), ", expected ",
                    shape_str(t.param.shape()), " (the parameter's shape)");
    }
  }
  for (const auto& [name, states] : full) {
    bool known = false;
    for (const Trained& t : trained_) known = known || t.name == name;
    LINEA_CHECK_T(CheckpointError, known, "optimizer state: parameter '", name,
                  "' is not trained by this optimizer (unknown or frozen)");
  }

  for (Shard& shard : shards_) {
    const Trained& t = trained_[shard.trained];
    const auto& saved = full.at(t.name);
    for (auto& [state_name, mine] : shard.state)
      mine.copy_(flat_range(saved.at(state_name).contiguous(), shard.begin, shard.length));
    auto master = shard.state.find("master");
    if (master != shard.state.end()) {
      Tensor owned = flat_range(t.param.data(), shard.begin, shard.length);
      owned.copy_(master->second);
    }
  }
  step_count_ = step_count;
}

}  // namespace linea
