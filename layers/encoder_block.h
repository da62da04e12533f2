// MosaicBERT's post-LN encoder layer on rows [R, hidden]: bidirectional self-attention with
// ALiBi over variable-length sequences, then GeGLU, each added to its input and normalized
// (attention_norm, mlp_norm), as BertUnpadAttention + BertGatedLinearUnitMLP.
#pragma once
#include <memory>

#include "core/kernels/attention.h"
#include "layers/encoder_options.h"
#include "layers/geglu.h"
#include "layers/layer_norm.h"
#include "layers/linear.h"

namespace linea {

// How the rows [R, hidden] of an encoder batch map onto sequences: R = B * T rows, seen by
// attention as a [B, heads, T, head_dim] layout with `attention.segments` marking each
// sequence (unpadded batches: B = 1, T = the real-token count, one segment per sequence;
// padded batches: T = the padded length, one segment of real tokens per row).
struct RowLayout {
  int64_t B = 0, T = 0;
  kernels::AttentionOptions attention;  // segments and ALiBi slopes, bidirectional
};

// Wqkv (hidden -> 3 hidden, bias; q | k | v, each head-major) and out_proj (hidden -> hidden, bias).
class EncoderSelfAttention : public Module {
 public:
  EncoderSelfAttention(int64_t hidden, int64_t heads, Device device, DType dtype);
  // x [R, hidden] -> the attention output [R, hidden] before out_proj.
  Variable attend(const Variable& x, const RowLayout& layout) const;
  const Linear& Wqkv() const { return *Wqkv_; }
  const Linear& out_proj() const { return *out_proj_; }

 private:
  Child<Linear> Wqkv_, out_proj_;
  int64_t heads_, head_dim_;
};

class EncoderBlock : public Module {
 public:
  EncoderBlock(const EncoderOptions& opt, Device device, DType dtype);
  // x [R, hidden] -> [R, hidden]. With `subset` (i64 [S] row indices on x's device) the
  // attention still reads every row as keys and values, but only the subset rows go on
  // through out_proj, the norms and the MLP: -> [S, hidden] (MosaicBERT's last-layer trick
  // for the MLM head, which needs only the masked rows).
  Variable forward(const Variable& x, const RowLayout& layout, const Tensor& subset = Tensor()) const;

 private:
  Child<EncoderSelfAttention> attention_;
  Child<LayerNorm> attention_norm_, mlp_norm_;
  Child<GeGLU> mlp_;
  double dropout_;
};

}  // namespace linea
