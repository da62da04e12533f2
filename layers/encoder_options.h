// EncoderOptions: the shape and training knobs of the MosaicBERT-style Encoder (train/ maps
// the YAML model config onto it). validate() throws ConfigError naming the offending field.
#pragma once
#include <cstdint>

namespace linea {

struct EncoderOptions {
  int64_t vocab = 30528;
  int64_t hidden = 768;
  int64_t layers = 12;
  int64_t heads = 12;
  int64_t ffn_hidden = 3072;   // GeGLU inner width I (gated_layers is hidden -> 2 I)
  int64_t type_vocab = 2;      // token_type_embeddings rows (sentence A / B)
  double norm_eps = 1e-12;     // every LayerNorm, as BERT
  double dropout = 0.1;        // embeddings, attention output, GeGLU product; attention probs: none
  double init_std = 0.02;
  int64_t max_seq_len = 512;   // longest T forward accepts (ALiBi needs no table)
  bool unpad = true;           // run on the real tokens only; false: every op on all B*T rows
  bool recompute = false;      // activation checkpointing: re-run each block in backward
  // Build the MLM head. Fine-tuning models leave it out (as BertForSequenceClassification has
  // no `cls` head), so its parameters are neither trained, decayed nor saved.
  bool mlm_head = true;

  void validate() const;
  int64_t head_dim() const { return hidden / heads; }
};

}  // namespace linea
