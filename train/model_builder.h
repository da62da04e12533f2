// Maps a recipe's model section onto the layers library: which recipe features the
// decoder and encoder implement today, and clear ConfigErrors for the ones it does not yet.
#pragma once
#include "configs/config.h"
#include "layers/decoder_options.h"
#include "layers/encoder_options.h"

namespace linea {

DecoderOptions decoder_options(const ModelConfig& model);
// MosaicBERT: GeGLU, post-LayerNorm, ALiBi, softmax attention (ConfigError for anything else).
EncoderOptions encoder_options(const ModelConfig& model);
// For training: the model section's options plus the train section's (train.recompute).
DecoderOptions decoder_options(const Config& config);
EncoderOptions encoder_options(const Config& config);

// ConfigError unless data.objective goes with model.kind (causal: decoder, mlm: encoder;
// classification's encoder is a validation rule of the recipe).
void check_objective_fits_model(const Config& config);
// Throws the ConfigError `linea train` would for a recipe this build cannot train: the
// check above, or a model feature not implemented yet.
void check_buildable(const Config& config);

}  // namespace linea
