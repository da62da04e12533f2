// DecoderOptions: the shape and training knobs of the Llama-style Decoder (train/ maps the
// YAML model config onto it). validate() throws ConfigError naming the offending field.
#pragma once
#include <cstdint>
#include <optional>

#include "core/kernels/rope.h"

namespace linea {

struct DecoderOptions {
  int64_t vocab = 32000;
  int64_t hidden = 256;
  int64_t layers = 4;
  int64_t heads = 4;
  int64_t kv_heads = 4;  // grouped-query attention when fewer than heads
  int64_t ffn_hidden = 688;
  double norm_eps = 1e-5;
  double rope_theta = 10000.0;
  std::optional<kernels::RopeScaling> rope_scaling;  // Llama 3.1 inv_freq rescaling
  bool tie_embeddings = true;  // logits use embed_tokens.weight; no lm_head
  double dropout = 0.0;        // on each block's attention and MLP outputs, in training mode
  double init_std = 0.02;
  int64_t max_seq_len = 2048;  // longest T forward accepts
  int64_t window = 0;          // causal sliding window of every layer's attention (0: none)
  bool recompute = false;      // activation checkpointing: re-run each block in backward

  void validate() const;
  int64_t head_dim() const { return hidden / heads; }
};

}  // namespace linea
