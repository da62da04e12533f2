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

}  // namespace linea
