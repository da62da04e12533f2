// The key reference: a visitor over the schema of a default Config.
#include "configs/config_keys.h"

#include <array>
#include <optional>
#include <type_traits>
#include <vector>

#include "configs/config.h"
#include "configs/config_enums.h"
#include "configs/config_error.h"
#include "configs/config_fields.h"
#include "configs/config_format.h"
#include "core/error.h"

namespace linea {

namespace {

std::string type_name(int64_t) { return "integer"; }
std::string type_name(double) { return "number"; }
std::string type_name(bool) { return "bool"; }
std::string type_name(const std::string&) { return "string"; }
std::string type_name(const std::optional<std::string>&) { return "string or null"; }
std::string type_name(const Device&) { return "device: cpu, cuda, cuda:N"; }

template <class E, std::enable_if_t<std::is_enum_v<E>, int> = 0>
std::string type_name(E) {
  return "enum: " + join_names(enum_names(E{}));
}

template <class T>
std::string type_name(const std::vector<T>&) {
  return "list of " + type_name(T{});
}

template <class T, size_t N>
std::string type_name(const std::array<T, N>&) {
  return str_cat("list of ", N, " ", type_name(T{}), "s");
}

// A Markdown table cell: '|' would end it.
std::string cell(const std::string& text) {
  std::string out;
  for (char ch : text) out += ch == '|' ? std::string("\\|") : std::string(1, ch);
  return out;
}

class KeyReference {
 public:
  KeyReference() : open_{0} { tables_.push_back({"", {}}); }

  template <class T>
  void field(const char* name, const T& value, const char* doc) {
    row(name, type_name(value), "`" + format_value(value) + "`", doc);
  }
  template <class Fn>
  void section(const char* name, Fn&& fn) {
    open(name);
    fn();
    open_.pop_back();
  }
  // Listed as a row of its section, its own keys (with the defaults they get when the map
  // is given) in a table of their own.
  template <class T, class Fn>
  void optional_section(const char* name, const std::optional<T>& value, const char* doc, Fn&& fn) {
    row(name, "optional map (keys below)", value ? "a map" : "`null`", doc);
    open(name);
    const T defaults{};
    fn(*this, defaults);
    open_.pop_back();
  }

  // Listed as a row of its section, the keys of one element (with the defaults an element
  // starts from) in a table of their own, "<key>[]".
  template <class T, class Make, class Fn>
  void list_section(const char* name, const std::vector<T>& /*value*/, const char* doc, Make&& make_default, Fn&& fn) {
    row(name, "list of maps (keys below)", "`[]`", doc);
    open((std::string(name) + "[]").c_str());
    const T defaults = make_default();
    fn(*this, defaults);
    open_.pop_back();
  }

  std::string markdown() const {
    std::string out =
        "# Recipe keys\n\n"
        "Every key a recipe may set, generated from the schema (`configs/config_fields.h`) by\n"
        "`linea config --keys`; regenerate this file with `linea config --keys > docs/recipe_keys.md`.\n"
        "Keys a recipe leaves out keep the default shown. A top-level `base: other.yaml` inherits\n"
        "from another recipe (maps merge, lists replace), and `--set key=value` overrides any key.\n";
    for (const Table& t : tables_) {
      out += "\n## " + (t.path.empty() ? std::string("Top level") : "`" + t.path + "`") + "\n\n";
      out += "| Key | Type | Default | Description |\n| --- | --- | --- | --- |\n";
      for (const std::string& r : t.rows) out += r;
    }
    return out;
  }

 private:
  struct Table {
    std::string path;  // dotted; "" for the top level
    std::vector<std::string> rows;
  };

  std::string key(const char* name) const {
    const std::string& path = tables_[open_.back()].path;
    return path.empty() ? name : path + "." + name;
  }
  void row(const char* name, const std::string& type, const std::string& default_value, const char* doc) {
    tables_[open_.back()].rows.push_back(
        str_cat("| `", key(name), "` | ", cell(type), " | ", cell(default_value), " | ", cell(doc), " |\n"));
  }
  void open(const char* name) {
    tables_.push_back({key(name), {}});
    open_.push_back(tables_.size() - 1);
  }

  std::vector<Table> tables_;  // in the order their sections open
  std::vector<size_t> open_;   // the open sections, innermost last
};

}  // namespace

std::string recipe_key_reference() {
  KeyReference reference;
  const Config defaults;
  visit_config(reference, defaults);
  return reference.markdown();
}

}  // namespace linea
