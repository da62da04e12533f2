// What is wrong with one recipe, gathered while reading and validating it so that one run
// of `linea config` or `linea train` reports every error (not just the first), plus the
// warnings about values that were adjusted.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "configs/config_error.h"

namespace linea {

class ConfigProblems {
 public:
  // Errors listed in the ConfigError; any beyond are only counted.
  static constexpr size_t kMaxListed = 20;

  // One error about `key`, as config_message(at, key, what).
  void error(const RecipeLocation& at, const std::string& key, const std::string& what);
  // One error about `key` already formatted as a located line (a caught ConfigError's).
  void error_line(const std::string& key, const std::string& line);
  // Whether an error was recorded about `key` or a section or list holding it ("model"
  // covers "model.hidden", "optim.betas" covers "optim.betas[1]"): a rule checked on the
  // default left in its place would only add noise.
  bool has_error(const std::string& key) const;
  // A located warning "<at>: <what>".
  void warn(const RecipeLocation& at, const std::string& what);
  const std::vector<std::string>& warnings() const { return warnings_; }
  // Throws one ConfigError listing the errors one per line, in the order found (a single
  // error is exactly its own line), when there are any.
  void throw_if_errors() const;

 private:
  std::vector<std::string> keys_, lines_, warnings_;
};

}  // namespace linea
