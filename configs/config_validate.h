// Range and consistency checks on a parsed Config (lr >= 0, heads dividing hidden, ...),
// each failure recorded in ConfigProblems located at the key that was set.
#pragma once
#include "configs/config.h"
#include "configs/config_problems.h"
#include "configs/config_reader.h"

namespace linea {

// Also adjusts two values rather than refusing them, each with a warning: a decaying
// schedule's warmup that would not end before train.steps is shortened, and
// train.keep_checkpoints 1 becomes 2.
void validate_config(Config& config, const KeyLocations& where, ConfigProblems& problems);

}  // namespace linea
