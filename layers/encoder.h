// Encoder: the MosaicBERT model (embeddings without positions, post-LN encoder layers with
// ALiBi and GeGLU, the MLM head tied to the word embeddings) on unpadded or padded rows.
// Parameter names follow BERT's modules: embeddings.word_embeddings, layers.N.attention.Wqkv,
// layers.N.mlp.gated_layers, mlm_head.dense, ...
#pragma once
#include <memory>
#include <utility>
#include <vector>

#include "core/rng.h"
#include "layers/embedding.h"
#include "layers/block.h"
#include "layers/layer_norm.h"
#include "layers/module_list.h"

namespace linea {

// The rows an encoder computes on, made from a padded batch by data/ (data/unpad.h,
// encoder_rows), which reads the mask on the host: the real tokens packed (unpadded; one
// attention segment per sequence, MosaicBERT's cu_seqlens) or every position of the padded
// batch (one segment of real tokens per row).
struct EncoderRows {
  Tensor ids, types;                // [R] i64 on any device (moved to the encoder's)
  int64_t batch = 0, seq_len = 0;   // B and T of the padded batch
  bool packed = true;               // R = the real tokens; false: R = B * T
  std::vector<int64_t> lengths;     // real tokens of each sequence (first in its padded row)
  std::vector<int64_t> row_of;      // flat position b * T + t -> row, -1 for padding
};

// x = LayerNorm(word_embeddings[ids] + token_type_embeddings[types]), then dropout.
class EncoderEmbeddings : public Module {
 public:
  EncoderEmbeddings(const ModelConfig& m, Device device, DType dtype);
  Variable forward(const Tensor& ids, const Tensor& types) const;  // [R] ids and types -> [R, hidden]
  const Embedding& word_embeddings() const { return *word_embeddings_; }

 private:
  Child<Embedding> word_embeddings_, token_type_embeddings_;
  Child<LayerNorm> norm_;
  double dropout_;
};

// logits = LayerNorm(gelu(dense(x))) word_embeddings^T + decoder_bias (BertOnlyMLMHead).
class MlmHead : public Module {
 public:
  MlmHead(const ModelConfig& m, Device device, DType dtype);
  Variable forward(const Variable& x, const Variable& word_embeddings) const;  // [M, hidden] -> [M, vocab]

 private:
  Child<Linear> dense_;
  Child<LayerNorm> norm_;
  Variable decoder_bias_;
};

class Encoder : public Module {
 public:
  // `m` must be a validated recipe's model section (configs/ validates). LayerNorm weights
  // start at 1, everything else at 0: call init_parameters or load a checkpoint. Without
  // `mlm_head` (fine-tuning, as BertForSequenceClassification has no `cls` head) the MLM
  // head's parameters are neither built, trained, decayed nor saved.
  explicit Encoder(const ModelConfig& m, Device device = Device::cpu(), DType dtype = DType::f32, bool mlm_head = true);
  const ModelConfig& config() const { return m_; }
  // Activation checkpointing: re-run each block in backward (train.recompute).
  void set_recompute(bool on) { recompute_ = on; }

  // As Hugging Face BERT's _init_weights: normal(0, init_std) for every linear and embedding
  // weight, biases 0, LayerNorms (1, 0); then the word-embedding row pad_id is zeroed.
  void init_parameters(Generator& gen, int64_t pad_id = 0);

  // Final hidden states [P, hidden] of the tokens at the given flat positions b * T + t
  // (each a real token; DataError otherwise), in that order. Only the last layer is
  // restricted to those rows; every layer's attention reads all real tokens.
  Variable forward(const EncoderRows& rows, const std::vector<int64_t>& positions);

  struct MlmOutput {
    Variable loss;   // mean cross-entropy over the masked tokens (0 when there are none)
    Tensor logits;   // [M, vocab] of the masked tokens, in row-major position order
    Tensor targets;  // [M] i64, their original ids
  };
  // labels [B, T]: the original id at masked positions, ignore_index elsewhere.
  MlmOutput mlm(const EncoderRows& rows, const Tensor& labels, int64_t ignore_index = -100);

  // Training FLOPs per real token for sequences of seq_len real tokens whose MLM head runs
  // on `head_fraction` of the tokens: 6 x (matmul weights per token) + 12 L C seq_len for
  // attention scores and values (PaLM's convention, as Decoder::flops_per_token).
  double flops_per_token(int64_t seq_len, double head_fraction) const;

  const EncoderEmbeddings& embeddings() const { return *embeddings_; }

 private:
  ModelConfig m_;
  bool recompute_ = false;
  Child<EncoderEmbeddings> embeddings_;
  Child<ModuleList<Block>> layers_;
  Child<MlmHead> mlm_head_;
  PositionTables positions_;
};

}  // namespace linea
