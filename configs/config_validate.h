// Range and consistency checks on a parsed Config (lr >= 0, heads dividing hidden, ...),
// each failure a ConfigError located at the key that was set.
#pragma once
#include "configs/config.h"
#include "configs/config_reader.h"

namespace linea {

void validate_config(const Config& config, const KeyLocations& where);

}  // namespace linea
