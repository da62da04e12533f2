// The tiny model shapes the layer, data-parallel and NCCL tests build: small enough for f64
// gradchecks, with grouped-query attention (decoder) and unequal widths so that mixed-up
// dimensions show.
#pragma once
#include "layers/model_config.h"

namespace linea::testing {

// A 2-layer Llama-style Decoder: vocab 37, hidden 16, 4 heads over 2 KV heads, SwiGLU 24, T <= 16.
inline ModelConfig tiny_decoder_config(bool tie_embeddings = true) {
  ModelConfig m;
  m.vocab_size = 37;
  m.hidden = 16;
  m.layers = 2;
  m.heads = 4;
  m.kv_heads = 2;
  m.ffn.hidden = 24;
  m.tie_embeddings = tie_embeddings;
  m.max_seq_len = 16;
  return m;
}

// A 2-layer MosaicBERT Encoder without dropout: vocab 41, hidden 12, 3 heads, GeGLU 10,
// post-LayerNorm, ALiBi, T <= 16.
inline ModelConfig tiny_encoder_config(bool unpad = true) {
  ModelConfig m;
  m.kind = ModelKind::encoder;
  m.vocab_size = 41;
  m.hidden = 12;
  m.layers = 2;
  m.heads = 3;
  m.kv_heads = 3;
  m.ffn = {FfnKind::geglu, 10, Activation::silu};
  m.norm = {NormKind::layernorm, 1e-12, NormPosition::post};
  m.attention.positions = PositionKind::alibi;
  m.dropout = 0.0;
  m.max_seq_len = 16;
  m.unpad = unpad;
  m.init_std = 0.3;  // large enough that attention and the head are far from uniform
  return m;
}

}  // namespace linea::testing
