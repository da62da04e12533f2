// Module registration, dotted-name traversal, modes, freezing and conversion.
#include "layers/module.h"

#include <algorithm>
#include <unordered_set>

namespace linea {

bool glob_match(const std::string& pattern, const std::string& name) {
  // Greedy matcher with backtracking to the last '*': O(|pattern| * |name|) worst case.
  size_t p = 0, n = 0, star = std::string::npos, star_n = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_n = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string::npos) {
      p = star + 1;
      n = ++star_n;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

void Module::check_new_name(const std::string& name) const {
  LINEA_CHECK_T(InternalError, !name.empty() && name.find('.') == std::string::npos,
                "Module: invalid name '", name, "' (names are non-empty and contain no '.')");
  auto taken = [&](const auto& entries) {
    for (const auto& e : entries)
      if (e.first == name) return true;
    return false;
  };
  LINEA_CHECK_T(InternalError, !taken(params_) && !taken(buffers_) && !taken(children_), "Module: the name '", name,
                "' is already registered in this module");
}

Variable Module::register_parameter(const std::string& name, Variable v) {
  check_new_name(name);
  LINEA_CHECK_T(InternalError, v.defined() && v.is_leaf(), "Module: parameter '", name,
                "' must be a defined leaf Variable");
  v.set_requires_grad(true);
  params_.emplace_back(name, v);
  return v;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  check_new_name(name);
  LINEA_CHECK_T(InternalError, t.defined(), "Module: buffer '", name, "' is undefined");
  buffers_.emplace_back(name, t);
  return t;
}

std::shared_ptr<ModuleSlot> Module::add_module(const std::string& name, std::shared_ptr<Module> m,
                                               std::function<bool(const Module*)> accepts) {
  check_new_name(name);
  LINEA_CHECK_T(InternalError, m != nullptr, "Module: submodule '", name, "' is null");
  children_.emplace_back(name, std::make_shared<ModuleSlot>(ModuleSlot{std::move(m), std::move(accepts)}));
  return children_.back().second;
}

std::shared_ptr<Module> Module::replace_module(const std::string& path, std::shared_ptr<Module> replacement) {
  LINEA_CHECK_T(InternalError, replacement != nullptr, "Module::replace_module: the replacement for '", path,
                "' is null");
  Module* owner = this;
  std::string rest = path;
  for (size_t dot; (dot = rest.find('.')) != std::string::npos; rest = rest.substr(dot + 1)) {
    const std::string name = rest.substr(0, dot);
    auto it = std::find_if(owner->children_.begin(), owner->children_.end(), [&](const auto& c) { return c.first == name; });
    LINEA_CHECK_T(ConfigError, it != owner->children_.end(), "Module::replace_module: no submodule '", path,
                  "' (no '", name, "' on the way), expected the dotted path of a registered submodule");
    owner = it->second->module.get();
  }
  auto it = std::find_if(owner->children_.begin(), owner->children_.end(), [&](const auto& c) { return c.first == rest; });
  LINEA_CHECK_T(ConfigError, it != owner->children_.end(), "Module::replace_module: no submodule '", path,
                "', expected the dotted path of a registered submodule");
  ModuleSlot& slot = *it->second;
  LINEA_CHECK_T(InternalError, slot.accepts(replacement.get()), "Module::replace_module: the replacement for '", path,
                "' is not of the type its owner holds it as (it must be that class or derive from it)");
  replacement->train(slot.module->is_training());
  return std::exchange(slot.module, std::move(replacement));
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out{{"", this}};
  for (auto& [name, child] : children_)
    for (auto& [sub, m] : child->module->named_modules()) out.emplace_back(sub.empty() ? name : name + "." + sub, m);
  return out;
}

std::vector<std::pair<std::string, const Module*>> Module::tree() const {
  std::vector<std::pair<std::string, const Module*>> out{{"", this}};
  for (const auto& [name, child] : children_)
    for (auto& [sub, m] : child->module->tree()) out.emplace_back(sub.empty() ? name : name + "." + sub, m);
  return out;
}

std::vector<std::pair<std::string, Variable>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Variable>> out;
  std::unordered_set<const VariableImpl*> seen;
  for (auto& [prefix, m] : tree())
    for (const auto& [name, v] : m->params_)
      if (seen.insert(v.impl().get()).second) out.emplace_back(prefix.empty() ? name : prefix + "." + name, v);
  return out;
}

std::vector<Variable> Module::parameters() const {
  std::vector<Variable> out;
  for (auto& entry : named_parameters()) out.push_back(entry.second);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (auto& [prefix, m] : tree())
    for (const auto& [name, t] : m->buffers_) out.emplace_back(prefix.empty() ? name : prefix + "." + name, t);
  return out;
}

Variable Module::parameter(const std::string& path) const {
  for (auto& [name, v] : named_parameters())
    if (name == path) return v;
  throw InternalError(str_cat("Module: no parameter named '", path, "'"));
}

Tensor Module::buffer(const std::string& path) const {
  for (auto& [name, t] : named_buffers())
    if (name == path) return t;
  throw InternalError(str_cat("Module: no buffer named '", path, "'"));
}

void Module::train(bool on) {
  for (auto& entry : named_modules()) entry.second->training_ = on;
}

int64_t Module::set_requires_grad_matching(const std::string& pattern, bool requires_grad, const char* op) {
  int64_t matched = 0;
  for (auto& [name, v] : named_parameters()) {
    if (!glob_match(pattern, name)) continue;
    v.set_requires_grad(requires_grad);
    if (!requires_grad) v.zero_grad();
    ++matched;
  }
  LINEA_CHECK_T(ConfigError, matched > 0, "Module::", op, ": the pattern '", pattern, "' matches no parameter");
  return matched;
}

int64_t Module::freeze(const std::string& pattern) { return set_requires_grad_matching(pattern, false, "freeze"); }
int64_t Module::unfreeze(const std::string& pattern) { return set_requires_grad_matching(pattern, true, "unfreeze"); }

void Module::to(Device device, DType dtype) {
  auto convert = [&](const Tensor& t) { return is_floating(t.dtype()) ? t.to(device, dtype) : t.to(device); };
  for (auto& [name, v] : named_parameters()) {
    Tensor grad = v.grad();
    v.set_data(convert(v.data()));
    if (grad.defined()) v.set_grad(convert(grad));
  }
  for (auto& entry : named_modules())
    for (auto& [name, t] : entry.second->buffers_) t = convert(t);
}

void Module::zero_grad() {
  for (auto& entry : named_parameters()) entry.second.zero_grad();
}

void Module::after_step(const StepEnd&) {}

void Module::init_own_parameters(Generator&) {}

void Module::run_after_step(const StepEnd& step) {
  for (auto& entry : named_modules()) entry.second->after_step(step);
}

int64_t Module::num_parameters(bool trainable_only) const {
  int64_t n = 0;
  for (auto& [name, v] : named_parameters())
    if (!trainable_only || v.requires_grad()) n += v.numel();
  return n;
}

}  // namespace linea
