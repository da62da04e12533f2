// HedgehogWindowAttention: LoLCATs' linearized attention as a token mixer (specs/lolcats.md
// §1): the pretrained Llama projections q_proj / k_proj / v_proj / o_proj, RoPE, k and v
// repeated to every query head (GQA), then learned feature maps φq, φk per query head after
// RoPE, and the hybrid of softmax over a window and linear attention over older keys with
// one shared normalizer (core/kernels/hedgehog_window.h; window 0 is pure linear attention).
//
// Parameters beside the projections, named as LoLCATs' checkpoints name them:
//   feature_map_q.mlp.layer, feature_map_k.mlp.layer  [H, head_dim, feature_dim]
//   feature_map_q.mlp.bias, feature_map_k.mlp.bias    [H] (t2r only: one bias per head)
//   window_factors                                    [H] (θ; the window's weight γ = sigmoid(θ))
// Both maps start as the identity on the first feature_dim dims of each head (LoLCATs'
// --lk_zero_init: eye_ on [head_dim, feature_dim]; with rotate-half RoPE these are the first
// member of every rotation pair), so φk starts equal to φq; θ starts at init_window_logit.
// hedgehog: φ(x) = clamp([softmax(xW), softmax(-xW)], 1e-12) (two softmaxes over feature_dim
// entries each); t2r: φ(x) = clamp(relu(xW + b), 1e-12).
//
// Decoding (the reference's window cache): the last `window` keys and values of each
// sequence stay in a ring buffer, every older token in the linear state S [F, D], z [F];
// each step moves the key leaving the window into the state, then attends softmax over the
// cached keys (itself included) plus the state. So decoding is the sliding layout even for
// terrace models, as in LoLCATs; a sliding model's prefill + steps equal its full forward.
#pragma once
#include "layers/token_mixer.h"

namespace linea {

// A per-head feature map's weights: `layer` [H, D, F] and, for t2r, `bias` [H].
class FeatureMapWeights : public Module {
 public:
  FeatureMapWeights(FeatureMapKind kind, int64_t heads, int64_t head_dim, int64_t feature_dim, Device device,
                    DType dtype);
  const Variable& layer() const { return layer_; }
  const Variable& bias() const { return bias_; }

 private:
  Variable layer_, bias_;
};

// φ of one side (q or k): x [B, H, T, D] (or [B, H, D]) -> [..., features].
class FeatureMap : public Module {
 public:
  FeatureMap(FeatureMapKind kind, int64_t heads, int64_t head_dim, int64_t feature_dim, Device device, DType dtype);
  Variable forward(const Variable& x) const;
  int64_t features() const { return kind_ == FeatureMapKind::hedgehog ? 2 * feature_dim_ : feature_dim_; }

 private:
  FeatureMapKind kind_;
  int64_t heads_, feature_dim_;
  Child<FeatureMapWeights> mlp_;
};

class HedgehogWindowAttention : public TokenMixer {
 public:
  HedgehogWindowAttention(const AttentionConfig& a, const ModelConfig& m, Device device, DType dtype);
  Variable forward(const Variable& x, const SequenceContext& ctx) const override;
  std::unique_ptr<MixerState> new_state(int64_t batch) const override;
  // 6 per weight of the projections and maps, plus the attention: per head and token
  // 3 x (keys (D + D) + 4 F D) with keys = the window's average size (1.5 w terrace, w
  // sliding, 0 pure linear), forward and backward.
  double flops_per_token(int64_t seq_len) const override;
  const Linear& output_projection() const override { return *o_proj_; }

  // The pieces attention transfer (LoLCATs stage 1) reads: q, k [B, H, T, D] after RoPE and
  // the GQA repeat, v likewise, and the hybrid attention's output [B, H, T, D] before o_proj.
  struct Heads {
    Variable q, k, v;
  };
  Heads heads(const Variable& x, const SequenceContext& ctx) const;
  Variable attend(const Heads& h, const SequenceContext& ctx) const;
  // The student's normalised attention weights [B, H, T, T] over full rows in the explicit
  // T x T form of spec §1.4: γ exp(s_ij − c_i) on window pairs, λ φq_i·φk_j on linear pairs,
  // 0 above the diagonal, each row divided by its shared normaliser (so weights · v is
  // attend's output). O(T²) memory; attention transfer's cross-entropy term reads it.
  Variable weights(const Heads& h, const SequenceContext& ctx) const;
  // The output projection applied to per-head outputs [B, H, T, D] (rows as ctx says).
  Variable project_out(const Variable& out, const SequenceContext& ctx) const;

 private:
  Variable step(const Variable& x, const SequenceContext& ctx) const;
  // The feature maps of q and k and the per-head weights γ = sigmoid(θ) and λ.
  struct Hybrid {
    Variable fq, fk, gamma, lambda;
  };
  Hybrid hybrid(const Heads& h) const;

  AttentionConfig opt_;
  int64_t heads_, kv_heads_, head_dim_;
  Child<Linear> q_proj_, k_proj_, v_proj_, o_proj_;
  Child<FeatureMap> feature_map_q_, feature_map_k_;
  Variable window_factors_;  // θ [H]
};

}  // namespace linea
