// The YAML text of one config value, as dump_config writes it and the key reference shows
// defaults: shortest exact numbers, quoted strings where YAML needs it, flow lists.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "configs/config.h"

namespace linea {

std::string format_value(double x);
std::string format_value(int64_t x);
std::string format_value(bool x);
std::string format_value(const Device& d);
std::string format_value(const std::string& s);
std::string format_value(const std::optional<std::string>& s);
std::string format_value(const std::vector<std::string>& items);
std::string format_value(const std::vector<AttentionKind>& items);
std::string format_value(const std::array<double, 2>& items);

template <class E, std::enable_if_t<std::is_enum_v<E>, int> = 0>
std::string format_value(E e) {
  return to_string(e);
}

}  // namespace linea
