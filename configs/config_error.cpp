// Located config errors and typo suggestions.
#include "configs/config_error.h"

#include <algorithm>

#include "core/error.h"

namespace linea {

std::string RecipeLocation::str() const {
  if (line <= 0) return source;
  return str_cat(source, ":", line, ":", column);
}

std::string config_message(const RecipeLocation& at, const std::string& key, const std::string& what) {
  if (key.empty()) return str_cat(at.str(), ": ", what);
  return str_cat(at.str(), ": ", key, ": ", what);
}

void throw_config_error(const RecipeLocation& at, const std::string& key, const std::string& what) {
  throw ConfigError(config_message(at, key, what));
}

namespace {

// Levenshtein distance with unit costs.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      diagonal = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitute});
    }
  }
  return row[b.size()];
}

}  // namespace

std::string closest_name(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = SIZE_MAX;
  for (const std::string& c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_distance) best_distance = d, best = c;
  }
  // A typo changes a few characters: allow up to a third of the longer name, at least 2.
  size_t limit = std::max<size_t>(2, std::max(word.size(), best.size()) / 3);
  if (best_distance <= limit) return best;
  // A shortened or lengthened name ("optimizer" for "optim") is a likely slip too.
  for (const std::string& c : candidates) {
    size_t common = std::min(word.size(), c.size());
    if (common >= 3 && word.compare(0, common, c, 0, common) == 0) return c;
  }
  return "";
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string expected_one_of(const std::vector<std::string>& valid, const std::string& got) {
  std::string msg = str_cat("expected one of ", join_names(valid), ", got '", got, "'");
  std::string guess = closest_name(got, valid);
  if (!guess.empty()) msg += str_cat(" (did you mean '", guess, "'?)");
  return msg;
}

}  // namespace linea
