// Collected recipe errors thrown as one ConfigError.
#include "configs/config_problems.h"

#include "core/error.h"

namespace linea {

void ConfigProblems::error(const RecipeLocation& at, const std::string& key, const std::string& what) {
  error_line(key, config_message(at, key, what));
}

void ConfigProblems::error_line(const std::string& key, const std::string& line) {
  keys_.push_back(key);
  lines_.push_back(line);
}

bool ConfigProblems::has_error(const std::string& key) const {
  for (const std::string& k : keys_) {
    if (key.compare(0, k.size(), k) != 0) continue;
    if (key.size() == k.size() || key[k.size()] == '.' || key[k.size()] == '[') return true;
  }
  return false;
}

void ConfigProblems::warn(const RecipeLocation& at, const std::string& what) {
  warnings_.push_back(config_message(at, "", what));
}

void ConfigProblems::throw_if_errors() const {
  if (lines_.empty()) return;
  std::string message;
  for (size_t i = 0; i < lines_.size() && i < kMaxListed; ++i) message += (i ? "\n" : "") + lines_[i];
  if (lines_.size() > kMaxListed) message += str_cat("\n(", lines_.size() - kMaxListed, " more not shown)");
  throw ConfigError(message);
}

}  // namespace linea
