// Encoder: the MosaicBERT model (embeddings without positions, post-LN encoder layers with
// ALiBi and GeGLU, the MLM head tied to the word embeddings) on unpadded or padded batches.
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

// One batch of B sequences padded to T (tensors on any device; they are read on the host).
struct EncoderBatch {
  Tensor input_ids;       // [B, T] i32/i64
  Tensor attention_mask;  // [B, T] u8/i32/i64, nonzero = real token; real tokens first in each row
  Tensor token_type_ids;  // [B, T] i32/i64 (sentence A = 0, B = 1), or undefined for all 0
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
  Variable forward(const EncoderBatch& batch, const std::vector<int64_t>& positions);

  struct MlmOutput {
    Variable loss;   // mean cross-entropy over the masked tokens (0 when there are none)
    Tensor logits;   // [M, vocab] of the masked tokens, in row-major position order
    Tensor targets;  // [M] i64, their original ids
  };
  // labels [B, T]: the original id at masked positions, ignore_index elsewhere.
  MlmOutput mlm(const EncoderBatch& batch, const Tensor& labels, int64_t ignore_index = -100);

  // Training FLOPs per real token for sequences of seq_len real tokens whose MLM head runs
  // on `head_fraction` of the tokens: 6 x (matmul weights per token) + 12 L C seq_len for
  // attention scores and values (PaLM's convention, as Decoder::flops_per_token).
  double flops_per_token(int64_t seq_len, double head_fraction) const;

  const EncoderEmbeddings& embeddings() const { return *embeddings_; }

 private:
  // How the rows the layers see form sequences (unpadded: the real tokens packed; padded:
  // every row), and the row of each flat position (-1 for padding).
  std::pair<SequenceContext, std::vector<int64_t>> layout(const EncoderBatch& batch, Tensor* ids, Tensor* types);

  ModelConfig m_;
  bool recompute_ = false;
  Child<EncoderEmbeddings> embeddings_;
  Child<ModuleList<Block>> layers_;
  Child<MlmHead> mlm_head_;
  PositionTables positions_;
};

}  // namespace linea
