// Test helpers for configs: a fresh temporary folder of recipe files, the message of the
// ConfigError an action throws, and a substring assertion.
#pragma once
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"

namespace linea::testing {

class RecipeDir {
 public:
  RecipeDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "linea_configs_XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    root_ = pattern;
  }
  ~RecipeDir() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  RecipeDir(const RecipeDir&) = delete;
  RecipeDir& operator=(const RecipeDir&) = delete;

  // Writes `text` to `name` (subfolders created) and returns the file's full path.
  std::string write(const std::string& name, const std::string& text) const {
    std::filesystem::path p = root_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
  std::string path(const std::string& name) const { return (root_ / name).string(); }

 private:
  std::filesystem::path root_;
};

// Passes when `text` contains `part`, showing both otherwise.
inline ::testing::AssertionResult contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

// The message of the ConfigError `action` throws; a test failure when it throws nothing.
template <class Fn>
std::string config_error(Fn&& action) {
  try {
    action();
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ConfigError";
  return "";
}

}  // namespace linea::testing
