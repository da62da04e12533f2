// What check_buildable says of a model config: its ConfigError message, or "" when the model
// can be built (the mixers' "bad settings are named" tests).
#pragma once
#include <string>

#include "configs/config.h"
#include "core/error.h"
#include "train/model_builder.h"

namespace linea::testing {

inline std::string buildable_problem(const ModelConfig& m) {
  Config c;
  c.model = m;
  try {
    check_buildable(c);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace linea::testing
