// Config values as YAML text.
#include "configs/config_format.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace linea {

// Shortest text that reads back to the same double, always with a '.' so YAML 1.1
// readers (PyYAML) see a float too: 3 -> 3.0, 10000 -> 10000.0, 1e-05 -> 1.0e-05.
std::string format_value(double x) {
  char buf[64];
  bool fixed = x == 0 || (std::abs(x) >= 1e-4 && std::abs(x) < 1e16);
  for (int digits = 1; digits <= (fixed ? 24 : 17); ++digits) {
    std::snprintf(buf, sizeof buf, fixed ? "%.*f" : "%.*g", digits, x);
    if (std::strtod(buf, nullptr) == x) break;
  }
  std::string s = buf;
  if (s.find('.') != std::string::npos) return s;
  size_t e = s.find('e');
  return e == std::string::npos ? s + ".0" : s.insert(e, ".0");
}

std::string format_value(int64_t x) { return std::to_string(x); }
std::string format_value(bool x) { return x ? "true" : "false"; }
std::string format_value(const Device& d) { return d.str(); }

std::string format_value(const std::string& s) {
  YAML::Emitter out;
  out << s;
  return out.c_str();
}

std::string format_value(const std::optional<std::string>& s) { return s ? format_value(*s) : "null"; }

// Flow lists; strings go through the emitter so commas and quotes stay unambiguous.
std::string format_value(const std::vector<std::string>& items) {
  YAML::Emitter out;
  out << YAML::Flow << items;
  return out.c_str();
}

namespace {

template <class T>
std::string format_list(const T& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + format_value(item);
  return "[" + out + "]";
}

}  // namespace

std::string format_value(const std::vector<AttentionKind>& items) { return format_list(items); }
std::string format_value(const std::array<double, 2>& items) { return format_list(items); }

}  // namespace linea
