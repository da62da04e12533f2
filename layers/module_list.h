// ModuleList: submodules registered under their index ("0", "1", ...), e.g. Decoder.layers.
#pragma once
#include "layers/module.h"

namespace linea {

template <class M>
class ModuleList : public Module {
 public:
  Child<M> append(std::shared_ptr<M> m) {
    items_.push_back(register_module(std::to_string(items_.size()), std::move(m)));
    return items_.back();
  }
  size_t size() const { return items_.size(); }
  M& operator[](size_t i) const { return *items_.at(i); }

 private:
  std::vector<Child<M>> items_;
};

}  // namespace linea
