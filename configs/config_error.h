// Where a recipe value came from and the one-line ConfigError raised about it
// ("<file>:<line>:<col>: <key>: <what>"), plus the "did you mean" suggestion.
#pragma once
#include <string>
#include <vector>

namespace linea {

struct RecipeLocation {
  std::string source;  // a file path, or "--set a.b=v" for a command-line override
  int line = 0;        // 1-based; 0 where the source has no positions (an override)
  int column = 0;
  std::string str() const;  // "recipe.yaml:3:7", or just the source without a position
};

// "<at>: <key>: <what>" (no key part when `key` is empty): one located line.
std::string config_message(const RecipeLocation& at, const std::string& key, const std::string& what);
// Throws ConfigError with config_message(at, key, what).
[[noreturn]] void throw_config_error(const RecipeLocation& at, const std::string& key, const std::string& what);

// The candidate closest to `word` by edit distance when close enough to be a typo, else "".
std::string closest_name(const std::string& word, const std::vector<std::string>& candidates);
// "a, b, c".
std::string join_names(const std::vector<std::string>& names);
// "expected one of a, b, c, got 'x'" plus " (did you mean 'y'?)" when one is close.
std::string expected_one_of(const std::vector<std::string>& valid, const std::string& got);

}  // namespace linea
