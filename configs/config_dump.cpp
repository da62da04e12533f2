// Config back to YAML, key-by-key comparison and the model diff, all by walking the schema.
#include <utility>

#include "configs/config.h"
#include "configs/config_fields.h"
#include "configs/config_format.h"
#include "core/error.h"

namespace linea {

namespace {

// Block YAML, one key per line, two-space indents.
class YamlWriter {
 public:
  template <class T>
  void field(const char* name, const T& value, const char* /*doc*/) {
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
  void optional_section(const char* name, const std::optional<T>& value, const char* /*doc*/, Fn&& fn) {
    if (!value) {
      text_ += indent_ + name + ": null\n";
      return;
    }
    section(name, [&] { fn(*this, *value); });
  }
  // Block sequence of maps: "- " takes the place of the first key's indent.
  template <class T, class Make, class Fn>
  void list_section(const char* name, const std::vector<T>& items, const char* /*doc*/, Make&&, Fn&& fn) {
    if (items.empty()) {
      text_ += indent_ + name + ": []\n";
      return;
    }
    text_ += indent_ + name + ":\n";
    for (const T& item : items) {
      YamlWriter inner;
      inner.indent_ = indent_ + "  ";
      fn(inner, item);
      text_ += indent_ + "- " + inner.text_.substr(inner.indent_.size());
    }
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
  void field(const char* name, const T& value, const char* /*doc*/) {
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
  void optional_section(const char* name, const std::optional<T>& value, const char* /*doc*/, Fn&& fn) {
    if (!value) {
      items_.emplace_back(prefix_ + name, "null");
      return;
    }
    Flattener inner("");
    fn(inner, *value);
    items_.emplace_back(prefix_ + name, "{" + inner.flow() + "}");
  }
  // One flow-list value of flow maps.
  template <class T, class Make, class Fn>
  void list_section(const char* name, const std::vector<T>& items, const char* /*doc*/, Make&&, Fn&& fn) {
    std::string list;
    for (const T& item : items) {
      Flattener inner("");
      fn(inner, item);
      list += (list.empty() ? "{" : ", {") + inner.flow() + "}";
    }
    items_.emplace_back(prefix_ + name, "[" + list + "]");
  }
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  // "a: 1, b: {c: 2}" of every key flattened so far.
  std::string flow() const {
    std::string flow;
    for (const auto& [key, text] : items_) flow += (flow.empty() ? "" : ", ") + key + ": " + text;
    return flow;
  }
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
