// Reading recipe files into located trees: `base:` inheritance, deep merge, overrides.
#include "configs/recipe_tree.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace linea {

namespace fs = std::filesystem;

RecipeValue& RecipeValue::operator=(const RecipeValue& other) {
  at = other.at;
  is_map = other.is_map;
  entries = other.entries;
  node.reset(other.node);
  return *this;
}

RecipeValue& RecipeValue::operator=(RecipeValue&& other) {
  at = std::move(other.at);
  is_map = other.is_map;
  entries = std::move(other.entries);
  node.reset(other.node);
  return *this;
}

RecipeLocation RecipeValue::element_at(size_t i) const {
  YAML::Mark mark = node[i].Mark();
  if (at.line <= 0 || mark.is_null()) return at;
  return {at.source, mark.line + 1, mark.column + 1};
}

const RecipeEntry* RecipeValue::find(const std::string& key) const {
  for (const RecipeEntry& e : entries)
    if (e.key == key) return &e;
  return nullptr;
}

RecipeEntry* RecipeValue::find(const std::string& key) {
  return const_cast<RecipeEntry*>(static_cast<const RecipeValue*>(this)->find(key));
}

namespace {

RecipeLocation location_of(const YAML::Mark& mark, const RecipeLocation& fallback) {
  if (fallback.line <= 0 || mark.is_null()) return fallback;
  return {fallback.source, mark.line + 1, mark.column + 1};
}

std::string join_key(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

// Converts parsed YAML into a located value; `fallback` locates nodes without a mark and,
// when it has no line (an override), every node.
RecipeValue from_yaml(const YAML::Node& node, const RecipeLocation& fallback, const std::string& path) {
  // An empty value's mark is the next token's; a null is located at its key instead.
  RecipeValue v(node.IsNull() ? fallback : location_of(node.Mark(), fallback), node.IsMap());
  if (!node.IsMap()) {
    v.node.reset(node);
    return v;
  }
  for (const auto& item : node) {
    RecipeLocation key_at = location_of(item.first.Mark(), v.at);
    if (!item.first.IsScalar())
      throw_config_error(key_at, path, "expected plain names as map keys, got a list or map as key");
    std::string key = join_key(path, item.first.Scalar());
    if (const RecipeEntry* seen = v.find(item.first.Scalar()))
      throw_config_error(key_at, key, str_cat("duplicate key (first at ", seen->key_at.str(), "), expected each key once"));
    v.entries.push_back({item.first.Scalar(), key_at, from_yaml(item.second, key_at, key)});
  }
  return v;
}

YAML::Node parse_yaml(const std::string& text, const RecipeLocation& at, const std::string& key) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw_config_error(location_of(e.mark, at), key, str_cat("malformed YAML (", e.msg, ")"));
  }
}

RecipeValue parse_document(const std::string& text, const std::string& source) {
  RecipeLocation start{source, 1, 1};
  YAML::Node doc = parse_yaml(text, start, "");
  if (doc.IsMap()) return from_yaml(doc, start, "");
  if (doc.IsNull()) throw_config_error({source}, "", "empty recipe, expected a map of sections (model, data, optim, ...)");
  throw_config_error(location_of(doc.Mark(), start), "",
                     "expected a map of sections (model, data, optim, ...) at the top level");
}

// The file's text; `named_at` locates the `base:` that named it, if any.
std::string read_recipe(const fs::path& path, const RecipeLocation* named_at) {
  auto fail = [&](const std::string& what) {
    if (named_at) throw_config_error(*named_at, "base", str_cat("cannot read '", path.string(), "' (", what, ")"));
    throw ConfigError(str_cat(path.string(), ": cannot read recipe (", what, ")"));
  };
  std::error_code ec;
  if (!fs::exists(path, ec)) fail("no such file");
  if (fs::is_directory(path, ec)) fail("is a directory, expected a YAML file");
  std::ifstream in(path);
  if (!in) fail(std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string canonical_name(const fs::path& path) {
  std::error_code ec;
  fs::path c = fs::weakly_canonical(path, ec);
  return ec ? fs::absolute(path).lexically_normal().string() : c.string();
}

// Child over base: maps merge key by key, anything else replaces.
void merge_into(RecipeValue& dst, RecipeValue src) {
  if (!dst.is_map || !src.is_map) {
    dst = std::move(src);
    return;
  }
  for (RecipeEntry& e : src.entries) {
    if (RecipeEntry* existing = dst.find(e.key)) {
      existing->key_at = e.key_at;
      merge_into(existing->value, std::move(e.value));
    } else {
      dst.entries.push_back(std::move(e));
    }
  }
}

struct Included {
  std::string canonical;
  std::string shown;
};

// Replaces the document's `base:` by the merged chain below it.
RecipeValue resolve_bases(RecipeValue doc, const fs::path& source, std::vector<Included>& chain) {
  chain.push_back({canonical_name(source), source.string()});
  auto base_it = std::find_if(doc.entries.begin(), doc.entries.end(), [](const RecipeEntry& e) { return e.key == "base"; });
  if (base_it == doc.entries.end()) {
    chain.pop_back();
    return doc;
  }
  RecipeValue base = std::move(base_it->value);
  doc.entries.erase(base_it);
  if (base.is_map || !base.node.IsScalar())
    throw_config_error(base.at, "base", "expected a recipe path relative to this file");
  fs::path base_path = (source.parent_path() / base.node.Scalar()).lexically_normal();
  std::string canonical = canonical_name(base_path);
  for (size_t i = 0; i < chain.size(); ++i) {
    if (chain[i].canonical != canonical) continue;
    std::string cycle;
    for (size_t j = i; j < chain.size(); ++j) cycle += chain[j].shown + " -> ";
    throw_config_error(base.at, "base", str_cat("inheritance cycle ", cycle, base_path.string(),
                                                ", expected a chain of distinct files"));
  }
  RecipeValue parent = resolve_bases(parse_document(read_recipe(base_path, &base.at), base_path.string()), base_path, chain);
  RecipeLocation top = doc.at;  // keys left unset are reported against the including file
  merge_into(parent, std::move(doc));
  parent.at = top;
  chain.pop_back();
  return parent;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

}  // namespace

RecipeValue RecipeValue::element(size_t i, const std::string& key) const {
  return from_yaml(node[i], element_at(i), key);
}

RecipeValue load_recipe_file(const std::string& path) {
  std::vector<Included> chain;
  return resolve_bases(parse_document(read_recipe(path, nullptr), path), path, chain);
}

RecipeValue load_recipe_text(const std::string& text, const std::string& source_name) {
  std::vector<Included> chain;
  return resolve_bases(parse_document(text, source_name), source_name, chain);
}

void apply_override(RecipeValue& root, const std::string& assignment) {
  RecipeLocation at{"--set " + assignment};
  size_t eq = assignment.find('=');
  if (eq == std::string::npos) throw_config_error(at, "", "expected key=value (for example optim.lr=3e-4)");
  std::string key = trim(assignment.substr(0, eq));
  std::vector<std::string> path;
  std::stringstream parts(key);
  for (std::string part; std::getline(parts, part, '.');) path.push_back(part);
  bool empty_part = key.empty() || key.back() == '.' ||
                    std::any_of(path.begin(), path.end(), [](const std::string& p) { return p.empty(); });
  if (empty_part) throw_config_error(at, key, "expected a dotted key such as optim.lr");
  RecipeValue value = from_yaml(parse_yaml(assignment.substr(eq + 1), at, key), at, key);

  RecipeValue* section = &root;
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    RecipeEntry* e = section->find(path[i]);
    if (!e) {
      section->entries.push_back({path[i], at, RecipeValue(at, true)});
      e = &section->entries.back();
    } else if (!e->value.is_map) {  // a.b=1 onto a scalar a: the reader reports a's type
      *e = RecipeEntry{path[i], at, RecipeValue(at, true)};
    }
    section = &e->value;
  }
  RecipeValue wrapper(at, true);
  wrapper.entries.push_back({path.back(), at, std::move(value)});
  merge_into(*section, std::move(wrapper));
}

}  // namespace linea
