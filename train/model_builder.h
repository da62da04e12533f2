// What a recipe's model section must satisfy to be built, beyond validation: the objective
// goes with the model kind, and every layer names kinds the layers implement (the schema
// already names the kinds of the model families to come, so such recipes parse, and stop
// here with the key that names the kind). The layers take the ModelConfig as it is.
#pragma once
#include "configs/config.h"

namespace linea {

// ConfigError unless data.objective goes with model.kind (causal: decoder, mlm: encoder;
// classification's encoder is a validation rule of the recipe).
void check_objective_fits_model(const Config& config);
// ConfigError, naming the key ("model.layout[1].pattern[0].attention.kind"), for a kind or
// option the model cannot build yet; then check_objective_fits_model.
void check_buildable(const Config& config);

}  // namespace linea
