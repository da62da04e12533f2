// Range and consistency checks on a parsed Config (lr >= 0, heads dividing hidden, ...),
// each failure recorded in ConfigProblems located at the key that was set.
#pragma once
#include "configs/config.h"
#include "configs/config_problems.h"
#include "configs/config_reader.h"

namespace linea {

// Also shortens a decaying schedule's warmup that would not end before train.steps, with a
// warning (the one value validation adjusts rather than refuses).
void validate_config(Config& config, const KeyLocations& where, ConfigProblems& problems);

}  // namespace linea
