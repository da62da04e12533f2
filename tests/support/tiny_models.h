// The tiny model shapes the layer, data-parallel and NCCL tests build: small enough for f64
// gradchecks, with grouped-query attention (decoder) and unequal widths so that mixed-up
// dimensions show.
#pragma once
#include "layers/decoder_options.h"
#include "layers/encoder_options.h"

namespace linea::testing {

// A 2-layer Decoder: vocab 37, hidden 16, 4 heads over 2 KV heads, MLP 24, T <= 16.
inline DecoderOptions tiny_decoder_options(bool tie_embeddings = true) {
  DecoderOptions opt;
  opt.vocab = 37;
  opt.hidden = 16;
  opt.layers = 2;
  opt.heads = 4;
  opt.kv_heads = 2;
  opt.ffn_hidden = 24;
  opt.tie_embeddings = tie_embeddings;
  opt.max_seq_len = 16;
  return opt;
}

// A 2-layer Encoder without dropout: vocab 41, hidden 12, 3 heads, GeGLU 10, T <= 16.
inline EncoderOptions tiny_encoder_options(bool unpad = true) {
  EncoderOptions opt;
  opt.vocab = 41;
  opt.hidden = 12;
  opt.layers = 2;
  opt.heads = 3;
  opt.ffn_hidden = 10;
  opt.dropout = 0.0;
  opt.max_seq_len = 16;
  opt.unpad = unpad;
  opt.init_std = 0.3;  // large enough that attention and the head are far from uniform
  return opt;
}

}  // namespace linea::testing
