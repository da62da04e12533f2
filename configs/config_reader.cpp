// Reading a recipe tree into Config with strict key and type checks; each bad key or value
// is recorded and reading goes on, the field keeping its default.
#include "configs/config_reader.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <type_traits>

#include "configs/config_enums.h"
#include "configs/config_fields.h"
#include "core/error.h"

namespace linea {

const RecipeLocation& KeyLocations::find(const std::string& key) const {
  for (std::string k = key;;) {
    auto it = at_.find(k);
    if (it != at_.end()) return it->second;
    size_t cut = k.back() == ']' ? k.rfind('[') : k.rfind('.');  // "a.b[1]" -> "a.b" -> "a"
    if (cut == std::string::npos) return recipe_;
    k.resize(cut);
  }
}

namespace {

// "a map", "a list", "null" or the quoted scalar, for "got ..." in messages.
std::string describe(const RecipeValue& v) {
  if (v.is_map || v.node.IsMap()) return "a map";
  if (v.node.IsSequence()) return "a list";
  if (!v.node.IsDefined() || v.node.IsNull()) return "null";
  return "'" + v.node.Scalar() + "'";
}

std::string expected_got(const RecipeValue& v, const std::string& expected) {
  return str_cat("expected ", expected, ", got ", describe(v));
}

[[noreturn]] void type_error(const RecipeValue& v, const std::string& key, const std::string& expected) {
  throw_config_error(v.at, key, expected_got(v, expected));
}

const std::string* scalar_text(const RecipeValue& v) {
  if (v.is_map || !v.node.IsScalar()) return nullptr;
  return &v.node.Scalar();
}

void read(const RecipeValue& v, const std::string& key, double& out) {
  const std::string* s = scalar_text(v);
  if (s && !s->empty()) {
    char* end = nullptr;
    errno = 0;
    double x = std::strtod(s->c_str(), &end);
    if (*end == '\0' && errno == 0 && std::isfinite(x)) {
      out = x;
      return;
    }
  }
  type_error(v, key, "a number");
}

void read(const RecipeValue& v, const std::string& key, int64_t& out) {
  const std::string* s = scalar_text(v);
  if (s && !s->empty()) {
    char* end = nullptr;
    errno = 0;
    long long x = std::strtoll(s->c_str(), &end, 10);
    if (*end == '\0' && errno == 0) {
      out = x;
      return;
    }
    // Integral numbers written as floats ("1e5", "100.0") are accepted when exact.
    double d = std::strtod(s->c_str(), &end);
    if (*end == '\0' && std::isfinite(d) && d == std::floor(d) && std::abs(d) <= 9007199254740992.0) {
      out = static_cast<int64_t>(d);
      return;
    }
  }
  type_error(v, key, "an integer");
}

void read(const RecipeValue& v, const std::string& key, bool& out) {
  const std::string* s = scalar_text(v);
  if (s && (*s == "true" || *s == "True" || *s == "TRUE")) {
    out = true;
  } else if (s && (*s == "false" || *s == "False" || *s == "FALSE")) {
    out = false;
  } else {
    type_error(v, key, "true or false");
  }
}

void read(const RecipeValue& v, const std::string& key, std::string& out) {
  const std::string* s = scalar_text(v);
  if (!s || v.node.IsNull()) type_error(v, key, "a string");
  out = *s;
}

void read(const RecipeValue& v, const std::string& key, std::optional<std::string>& out) {
  if (!v.is_map && v.node.IsNull()) {
    out.reset();
    return;
  }
  const std::string* s = scalar_text(v);
  if (!s) type_error(v, key, "a string or null");
  out = *s;
}

void read(const RecipeValue& v, const std::string& key, Device& out) {
  const std::string* s = scalar_text(v);
  if (!s || v.node.IsNull()) type_error(v, key, "cpu, cuda or cuda:N");
  try {
    out = device_from_name(*s);
  } catch (const ConfigError& e) {
    throw_config_error(v.at, key, e.what());
  }
}

template <class E, std::enable_if_t<std::is_enum_v<E>, int> = 0>
void read(const RecipeValue& v, const std::string& key, E& out) {
  const EnumNames& names = enum_names(E{});
  const std::string* s = scalar_text(v);
  if (!s || v.node.IsNull()) type_error(v, key, "one of " + join_names(names));
  auto it = std::find(names.begin(), names.end(), *s);
  if (it == names.end()) throw_config_error(v.at, key, expected_one_of(names, *s));
  out = static_cast<E>(it - names.begin());
}

// Each element of a list, located at its own position where the list has positions.
template <class Fn>
void for_each_element(const RecipeValue& list, const std::string& key, const char* expected, Fn&& fn) {
  if (list.is_map || !list.node.IsSequence()) type_error(list, key, expected);
  for (size_t i = 0; i < list.node.size(); ++i) {
    RecipeValue element(list.element_at(i), false);
    element.node.reset(list.node[i]);
    fn(element, str_cat(key, "[", i, "]"));
  }
}

template <class T>
void read(const RecipeValue& v, const std::string& key, std::vector<T>& out) {
  std::vector<T> items;
  for_each_element(v, key, "a list", [&](const RecipeValue& element, const std::string& element_key) {
    read(element, element_key, items.emplace_back());
  });
  out = std::move(items);
}

template <size_t N>
void read(const RecipeValue& v, const std::string& key, std::array<double, N>& out) {
  std::string expected = str_cat("a list of ", N, " numbers");
  if (v.is_map || !v.node.IsSequence() || v.node.size() != N) {
    if (v.node.IsSequence()) throw_config_error(v.at, key, str_cat("expected ", expected, ", got ", v.node.size(), " items"));
    type_error(v, key, expected);
  }
  std::array<double, N> items;  // `out` changes only when every element reads
  size_t i = 0;
  for_each_element(v, key, expected.c_str(), [&](const RecipeValue& element, const std::string& element_key) {
    read(element, element_key, items[i++]);
  });
  out = items;
}

// The reading visitor of config_fields.h over a stack of open sections. The read functions
// above throw on the first bad value of a field; the visitor records it and goes on.
class TreeReader {
 public:
  TreeReader(const RecipeValue& root, KeyLocations& where, ConfigProblems& problems)
      : where_(where), problems_(problems) {
    sections_.push_back({&root, "", {}});
  }

  template <class T>
  void field(const char* name, T& out, const char* /*doc*/) {
    const RecipeEntry* e = claim(name);
    if (!e) return;
    try {
      read(e->value, key_of(name), out);
    } catch (const ConfigError& error) {
      problems_.error_line(key_of(name), error.what());
    }
  }

  template <class Fn>
  void section(const char* name, Fn&& fn) {
    const RecipeEntry* e = claim(name);
    if (!e) return;
    if (!e->value.is_map) {
      problems_.error(e->value.at, key_of(name), expected_got(e->value, "a map"));
      return;
    }
    sections_.push_back({&e->value, key_of(name), {}});
    fn();
    close_section();
  }

  template <class T, class Fn>
  void optional_section(const char* name, std::optional<T>& out, const char* /*doc*/, Fn&& fn) {
    const RecipeEntry* e = claim(name);
    if (!e) return;
    if (!e->value.is_map) {
      if (e->value.node.IsNull()) out.reset();
      else problems_.error(e->value.at, key_of(name), expected_got(e->value, "a map or null"));
      return;
    }
    out.emplace();
    sections_.push_back({&e->value, key_of(name), {}});
    fn(*this, *out);
    close_section();
  }

  // Each element of the list is a map read onto make_default() by fn.
  template <class T, class Make, class Fn>
  void list_section(const char* name, std::vector<T>& out, const char* /*doc*/, Make&& make_default, Fn&& fn) {
    const RecipeEntry* e = claim(name);
    if (!e) return;
    const std::string key = key_of(name);
    if (e->value.is_map || !e->value.node.IsSequence()) {
      problems_.error(e->value.at, key, expected_got(e->value, "a list of maps"));
      return;
    }
    std::vector<T> items;
    for (size_t i = 0; i < e->value.node.size(); ++i) {
      const std::string element_key = str_cat(key, "[", i, "]");
      RecipeValue element;
      try {
        element = e->value.element(i, element_key);
      } catch (const ConfigError& error) {
        problems_.error_line(element_key, error.what());
        continue;
      }
      if (!element.is_map) {
        problems_.error(element.at, element_key, expected_got(element, "a map"));
        continue;
      }
      T& item = items.emplace_back(make_default());
      sections_.push_back({&element, element_key, {}});
      fn(*this, item);
      close_section();
    }
    out = std::move(items);
  }

  // Records the keys of the innermost open section that no field claimed.
  void close_section() {
    const Section& s = sections_.back();
    for (const RecipeEntry& e : s.map->entries) {
      if (std::find(s.known.begin(), s.known.end(), e.key) != s.known.end()) continue;
      std::string what = "unknown key";
      std::string guess = closest_name(e.key, s.known);
      if (!guess.empty()) what += str_cat(" (did you mean '", guess, "'?)");
      problems_.error(e.key_at, s.path.empty() ? e.key : s.path + "." + e.key,
                      str_cat(what, ", expected one of ", join_names(s.known)));
    }
    sections_.pop_back();
  }

 private:
  struct Section {
    const RecipeValue* map;
    std::string path;
    std::vector<std::string> known;
  };

  std::string key_of(const char* name) const {
    const std::string& path = sections_.back().path;
    return path.empty() ? name : path + "." + name;
  }

  // Marks `name` as a valid key here; the entry when the recipe sets it, whose location
  // (and its list elements') goes into where_.
  const RecipeEntry* claim(const char* name) {
    sections_.back().known.push_back(name);
    const RecipeEntry* e = sections_.back().map->find(name);
    if (!e) return nullptr;
    where_.set(key_of(name), e->value.at);
    if (!e->value.is_map && e->value.node.IsSequence())
      for (size_t i = 0; i < e->value.node.size(); ++i) where_.set(str_cat(key_of(name), "[", i, "]"), e->value.element_at(i));
    return e;
  }

  KeyLocations& where_;
  ConfigProblems& problems_;
  std::vector<Section> sections_;
};

}  // namespace

Config read_config(const RecipeValue& root, KeyLocations& where, ConfigProblems& problems) {
  Config config;
  TreeReader reader(root, where, problems);
  visit_config(reader, config);
  reader.close_section();
  return config;
}

}  // namespace linea
