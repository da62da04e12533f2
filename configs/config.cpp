// load_config and parse_config: recipe tree -> overrides -> typed Config -> validation.
#include "configs/config.h"

#include "configs/config_reader.h"
#include "configs/config_validate.h"
#include "configs/recipe_tree.h"

namespace linea {

namespace {

Config config_from_tree(const RecipeValue& root, std::vector<std::string>* warnings) {
  KeyLocations where(root.at);
  ConfigProblems problems;
  Config config = read_config(root, where, problems);
  validate_config(config, where, problems);
  problems.throw_if_errors();
  if (warnings) warnings->insert(warnings->end(), problems.warnings().begin(), problems.warnings().end());
  return config;
}

}  // namespace

Config load_config(const std::string& path, const std::vector<std::string>& overrides,
                   std::vector<std::string>* warnings) {
  RecipeValue root = load_recipe_file(path);
  for (const std::string& assignment : overrides) apply_override(root, assignment);
  return config_from_tree(root, warnings);
}

Config parse_config(const std::string& yaml_text, const std::string& source_name, std::vector<std::string>* warnings) {
  return config_from_tree(load_recipe_text(yaml_text, source_name), warnings);
}

}  // namespace linea
