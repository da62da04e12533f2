// DiagBlockAttention: TransNormer v1's DiagAttention (`diag_block`, specs/transnormer.md §1.3)
// as a token mixer. Each sequence is cut into blocks of `block` rows (64 in v1; the last block
// may be partial) and attention stays inside a block: causal in a decoder, bidirectional in
// an encoder, nothing crosses a block border, so the cost is O(T block d).
// - scores softmax (T2): softmax(q kᵀ / sqrt(d)) v over the block's allowed keys, out_proj.
// - scores relu (T1, ReLA): relu(q kᵀ / sqrt(d)) v with masked scores 0, then SimpleRMSNorm
//   over the width, out_proj.
// Projections qkv_proj and out_proj with biases (v1's Linear layers). Keys past a sequence's
// end never count: for the bidirectional T2 path this is exact block attention over real
// tokens, which v1's reference only approximates (its zero-padded last block adds e^0 to the
// softmax's denominator; spec §1.3). Positions: none, or urpe (v1's, layers/urpe.h) on the
// scaled q and on k.
// Decoding keeps the current block's keys and values (at most block - 1 rows per sequence):
// O(block) memory however long the sequence.
#pragma once
#include "layers/token_mixer.h"
#include "layers/urpe.h"

namespace linea {

class DiagBlockAttention : public TokenMixer {
 public:
  // `layer` keys URPE's fixed reflection vector.
  DiagBlockAttention(const AttentionConfig& a, const ModelConfig& m, int64_t layer, Device device, DType dtype);
  Variable forward(const Variable& x, const SequenceContext& ctx) const override;
  std::unique_ptr<MixerState> new_state(int64_t batch) const override;
  // 6 per projection weight plus 3 x 4 T' d per token for the scores and their product with
  // v (T' = the keys a query sees on average: (min(T, block) + 1) / 2 causal, min(T, block)
  // bidirectional), forward and backward.
  double flops_per_token(int64_t seq_len) const override;
  const Linear& output_projection() const override { return *out_proj_; }

 private:
  AttentionConfig opt_;
  bool causal_;
  int64_t heads_, head_dim_;
  double norm_eps_;
  Child<Linear> qkv_proj_, out_proj_;
  Child<Urpe> urpe_;  // only with positions: urpe
};

}  // namespace linea
