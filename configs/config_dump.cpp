// Config back to YAML, key-by-key comparison and the model diff, all by walking the schema.
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "configs/config.h"
#include "configs/config_fields.h"
#include "core/error.h"

namespace linea {

namespace {

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

template <class E, std::enable_if_t<std::is_enum_v<E>, int> = 0>
std::string format_value(E e) {
  return to_string(e);
}

// Flow lists; strings go through the emitter so commas and quotes stay unambiguous.
std::string format_value(const std::vector<std::string>& items) {
  YAML::Emitter out;
  out << YAML::Flow << items;
  return out.c_str();
}

template <class T>
std::string format_list(const T& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + format_value(item);
  return "[" + out + "]";
}

std::string format_value(const std::vector<AttentionKind>& items) { return format_list(items); }
std::string format_value(const std::array<double, 2>& items) { return format_list(items); }

// Block YAML, one key per line, two-space indents.
class YamlWriter {
 public:
  template <class T>
  void field(const char* name, const T& value) {
    text_ += indent_ + name + ": " + format_value(value) + "\n";
  }
  template <class Fn>
  void section(const char* name, Fn&& fn) {
    text_ += indent_ + name + ":\n";
    indent_ += "  ";
    fn();
    indent_.resize(indent_.size() - 2);
  }
  template <class T, class Fn>
  void optional_section(const char* name, const std::optional<T>& value, Fn&& fn) {
    if (!value) {
      text_ += indent_ + name + ": null\n";
      return;
    }
    section(name, [&] { fn(*this, *value); });
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_, indent_;
};

// (dotted key, YAML value) for every key; an optional section is one flow-map value.
class Flattener {
 public:
  explicit Flattener(std::string prefix) : prefix_(std::move(prefix)) {}
  template <class T>
  void field(const char* name, const T& value) {
    items_.emplace_back(prefix_ + name, format_value(value));
  }
  template <class Fn>
  void section(const char* name, Fn&& fn) {
    std::string outer = prefix_;
    prefix_ += std::string(name) + ".";
    fn();
    prefix_ = outer;
  }
  template <class T, class Fn>
  void optional_section(const char* name, const std::optional<T>& value, Fn&& fn) {
    if (!value) {
      items_.emplace_back(prefix_ + name, "null");
      return;
    }
    Flattener inner("");
    fn(inner, *value);
    std::string flow;
    for (const auto& [key, text] : inner.items_) flow += (flow.empty() ? "" : ", ") + key + ": " + text;
    items_.emplace_back(prefix_ + name, "{" + flow + "}");
  }
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::string prefix_;
  std::vector<std::pair<std::string, std::string>> items_;
};

std::vector<std::pair<std::string, std::string>> flatten(const ModelConfig& m) {
  Flattener f("model.");
  visit_model(f, m);
  return f.items();
}

}  // namespace

std::string dump_config(const Config& config) {
  YamlWriter writer;
  visit_config(writer, config);
  return writer.text();
}

std::vector<std::string> model_config_diff(const ModelConfig& a, const ModelConfig& b) {
  auto items_a = flatten(a), items_b = flatten(b);  // same keys in the same order
  std::vector<std::string> diff;
  for (size_t i = 0; i < items_a.size(); ++i)
    if (items_a[i].second != items_b[i].second)
      diff.push_back(str_cat(items_a[i].first, ": ", items_a[i].second, " vs ", items_b[i].second));
  return diff;
}

// Values format to the shortest exact text, so equal text means equal values.
bool operator==(const ModelConfig& a, const ModelConfig& b) { return flatten(a) == flatten(b); }

bool operator==(const Config& a, const Config& b) {
  Flattener fa(""), fb("");
  visit_config(fa, a);
  visit_config(fb, b);
  return fa.items() == fb.items();
}

}  // namespace linea
