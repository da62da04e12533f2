// Softmax self-attention as a token mixer: grouped-query heads, RoPE / ALiBi / no
// positions, causal (decoders) or bidirectional (encoders), optionally over a causal
// sliding window of the `window` most recent keys (Mistral), over full, padded or packed
// sequences. Decoding keeps a KV cache (all keys, growing) or, with a window, a ring buffer
// of the last `window` keys.
#pragma once
#include "layers/token_mixer.h"

namespace linea {

// Llama's q_proj / k_proj / v_proj of rows x [B*T, hidden] as heads: q [B, heads, T, D], k and
// v [B, kv_heads, T, D], with RoPE on q and k when a.positions is rope (positions 0..T-1 of
// each row). Shared by the softmax mixer and LoLCATs' hybrid, which reuses those projections.
void llama_heads(const Linear& q_proj, const Linear& k_proj, const Linear& v_proj, const Variable& x,
                 const SequenceContext& ctx, const AttentionConfig& a, int64_t heads, int64_t kv_heads,
                 int64_t head_dim, Variable& q, Variable& k, Variable& v);
// RoPE on q and k [B, n, T, D] at positions 0..T-1.
void rope_qk(Variable& q, Variable& k, const SequenceContext& ctx, const AttentionConfig& a, int64_t head_dim);

class SoftmaxAttention : public TokenMixer {
 public:
  // Llama layout: q_proj, k_proj, v_proj, o_proj without biases; BERT layout: Wqkv
  // (q | k | v, each head-major) and out_proj with biases, heads == kv_heads.
  SoftmaxAttention(const AttentionConfig& a, const ModelConfig& m, HfLayout layout, Device device, DType dtype);
  Variable forward(const Variable& x, const SequenceContext& ctx) const override;
  std::unique_ptr<MixerState> new_state(int64_t batch) const override;
  double flops_per_token(int64_t seq_len) const override;
  const Linear& output_projection() const override { return *o_proj_; }

 private:
  // q [B,H,T,D], k and v [B,Hkv,T,D] of rows x, positions applied.
  void project(const Variable& x, const SequenceContext& ctx, Variable& q, Variable& k, Variable& v) const;
  kernels::AttentionOptions attention_options(const SequenceContext& ctx, Device device) const;
  // One decoding step: x [B, hidden], one new token per sequence.
  Variable step(const Variable& x, const SequenceContext& ctx) const;
  void fill_cache(const Tensor& k, const Tensor& v, const SequenceContext& ctx) const;

  AttentionConfig opt_;
  bool causal_;
  int64_t heads_, kv_heads_, head_dim_;
  Child<Linear> q_proj_, k_proj_, v_proj_, qkv_proj_, o_proj_;  // q/k/v or qkv by layout
};

}  // namespace linea
