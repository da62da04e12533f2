// MlaAttention: Kimi Linear's Multi-head Latent Attention (specs/kimi_linear.md §3), NoPE,
// with DeepSeek/Kimi's Hugging Face names:
//   q = x q_projᵀ -> H heads of nope + rope (no q compression: Kimi's q_lora_rank is null);
//   [c; k_s] = x kv_a_proj_with_mqaᵀ, c = kv_a_layernorm(c) (rank r), k_s one key slot of
//   `rope` shared by every head and never rotated;
//   [k_nope_h; v_h] = c kv_b_projᵀ; k_h = [k_nope_h; k_s]; causal softmax with scale
//   (nope + rope)^-1/2 (the attention kernel takes v's own head dim); out = o_projᵀ.
// Decoding caches the latent [c; k_s] per token (r + rope values, not H (nope + rope + v)) and
// absorbs kv_b_proj: each step scores q_latent = W_k,hᵀ q_nope,h and q_rest against the cache
// (multi-query attention over r + rope dims) and maps the attended latent through W_v,h, so
// no per-head key or value is ever rebuilt. kv_a_layernorm's eps is model.norm.eps (Kimi's
// rms_norm_eps, as vLLM; HF's KimiRMSNorm default would be 1e-6).
// QK-clip (mla.qk_clip_tau > 0) records each head's largest logit during training forwards by
// an extra no-grad score product per sequence (O(T²) per head; the fused kernel does not
// return row maxima yet) and rescales after the optimizer step.
#pragma once
#include "layers/norm.h"
#include "layers/token_mixer.h"

namespace linea {

class MlaAttention : public TokenMixer {
 public:
  MlaAttention(const AttentionConfig& a, const ModelConfig& m, Device device, DType dtype);
  Variable forward(const Variable& x, const SequenceContext& ctx) const override;
  std::unique_ptr<MixerState> new_state(int64_t batch) const override;
  // 6 per projection weight plus 6 H T (nope + rope + v) for scores and values (the full T x T
  // square, as the softmax mixer counts it).
  double flops_per_token(int64_t seq_len) const override;
  const Linear& output_projection() const override { return *o_proj_; }
  // QK-clip (qk_clip_tau > 0): rescales the heads whose largest logit since the last step,
  // the maximum over the ranks, exceeded tau.
  void after_step(const StepEnd& step) override;
  // Each head's largest causal attention logit seen by training forwards since the last step.
  const std::vector<double>& max_logits() const { return max_logit_; }

 private:
  // Folds the largest logit of each head over q, k [B, H, T, nope + rope] into max_logit_,
  // pairs j <= i within each sequence.
  void record_max_logits(const Variable& q, const Variable& k, const SequenceContext& ctx) const;
  Variable step(const Variable& x, const SequenceContext& ctx) const;
  // x rows -> the normalized latent c [N, r] and the shared key slot [N, rope].
  void latent(const Variable& x, Variable& c, Variable& k_shared) const;

  int64_t heads_, rank_, nope_, rope_, v_dim_;
  double qk_clip_tau_;
  mutable std::vector<double> max_logit_;
  Child<Linear> q_proj_, kv_a_proj_, kv_b_proj_, o_proj_;
  Child<Norm> kv_a_norm_;
};

}  // namespace linea
