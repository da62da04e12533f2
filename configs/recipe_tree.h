// A recipe as a tree of located values: the YAML of a file and its `base:` chain merged,
// then `--set` overrides applied, every key and value remembering where it came from.
#pragma once
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "configs/config_error.h"

namespace linea {

struct RecipeEntry;

struct RecipeValue {
  RecipeLocation at;
  bool is_map = false;
  std::vector<RecipeEntry> entries;  // a map's keys in file order
  YAML::Node node;                   // the value when it is not a map (scalar, list or null)

  RecipeValue() = default;
  RecipeValue(RecipeLocation location, bool map) : at(std::move(location)), is_map(map) {}
  RecipeValue(const RecipeValue&) = default;
  RecipeValue(RecipeValue&&) = default;
  // YAML::Node's operator= writes through to the node it refers to (changing every other
  // handle on it); these rebind `node` instead.
  RecipeValue& operator=(const RecipeValue& other);
  RecipeValue& operator=(RecipeValue&& other);

  const RecipeEntry* find(const std::string& key) const;
  RecipeEntry* find(const std::string& key);
  // Where element i of a list value sits (the list's own location where there are no marks).
  RecipeLocation element_at(size_t i) const;
  // Element i of a list value as a located value (a map's keys located too); `key` names
  // it in errors ("model.layout[0]").
  RecipeValue element(size_t i, const std::string& key) const;
};

struct RecipeEntry {
  std::string key;
  RecipeLocation key_at;
  RecipeValue value;
};

// Reads the recipe file and the `base:` files it names (each relative to the file naming
// it), merged child over base: maps merge key by key, anything else replaces. The result
// has no `base` key. Missing files, malformed YAML, non-map documents, duplicate keys and
// inheritance cycles throw ConfigError.
RecipeValue load_recipe_file(const std::string& path);
// The same for recipe text held in memory; `source_name` stands for its file.
RecipeValue load_recipe_text(const std::string& text, const std::string& source_name);
// Merges one override "a.b.c=value" into `root`; the value is parsed as YAML (a scalar, a
// flow list or a flow map) and located at "--set a.b.c=value".
void apply_override(RecipeValue& root, const std::string& assignment);

}  // namespace linea
