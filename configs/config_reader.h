// Turns a located recipe tree into a Config: unknown keys (with the closest valid key) and
// values of the wrong type are recorded in ConfigProblems; KeyLocations keeps where each key
// was set.
#pragma once
#include <map>
#include <string>

#include "configs/config.h"
#include "configs/config_problems.h"
#include "configs/recipe_tree.h"

namespace linea {

class KeyLocations {
 public:
  explicit KeyLocations(RecipeLocation recipe) : recipe_(std::move(recipe)) {}
  void set(const std::string& key, const RecipeLocation& at) { at_[key] = at; }
  bool has(const std::string& key) const { return at_.count(key) > 0; }
  // Where `key` ("optim.lr") was set; for a default, where its nearest enclosing section
  // was set, else the recipe itself.
  const RecipeLocation& find(const std::string& key) const;

 private:
  RecipeLocation recipe_;
  std::map<std::string, RecipeLocation> at_;
};

// Keys the recipe leaves out, and keys whose value is wrong, keep Config's defaults.
Config read_config(const RecipeValue& root, KeyLocations& where, ConfigProblems& problems);

}  // namespace linea
