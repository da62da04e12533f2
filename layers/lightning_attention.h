// LightningAttention: TransNormerLLM's gated linear attention as a token mixer
// (specs/transnormer.md §2.2, variant tnl): [q, k, v, u] = x W_qkvu, q = φ(q), k = φ(k),
// o = lightning attention of q, k, v with the layer's per-head decay, then
// o = SimpleRMSNorm(o) ⊙ u (the output gate) and out = o W_o. With positions: lrpe, q and k
// first go through LRPE (§2.4): x_p -> [x_p ⊙ cos(p θ), x_p ⊙ sin(p θ)] with learnable θ [H, Dh]
// starting at 10000^(-2 (h Dh + c) / (H Dh)), so scores see cos(θ (t - s)) and the state is
// [2 Dh, Dh]. Decoding keeps the [B, H, Dk, Dh] state: the prefill hands it
// over from the parallel form and each step updates it in O(1) (S <- λ S + kᵀ v, o = q S),
// through the same kernel.
#pragma once
#include <vector>

#include "layers/token_mixer.h"

namespace linea {

// The released code's decay of layer `layer` of `layers` (§2.3): s_h = slope_h (1 - l / (L - 1)
// + 1e-5) with ALiBi's slopes, and l / (L - 1) taken as 0 for a single layer. λ = exp(-s).
std::vector<float> tnl_decay(int64_t heads, int64_t layer, int64_t layers);

class LightningAttention : public TokenMixer {
 public:
  LightningAttention(const AttentionConfig& a, const ModelConfig& m, int64_t layer, Device device, DType dtype);
  Variable forward(const Variable& x, const SequenceContext& ctx) const override;
  std::unique_ptr<MixerState> new_state(int64_t batch) const override;
  // 6 per projection weight plus the blockwise attention's 3 x (T' (Dk + Dv) + 4 Dk Dv) per
  // head and token (T' = min(T, block): the causal half of the intra-block products, and the
  // inter-block product and state update), forward and backward.
  double flops_per_token(int64_t seq_len) const override;
  const Linear& output_projection() const override { return *out_proj_; }

 private:
  // cos and sin of LRPE's angles p θ at each row's position, [B, H, T, Dh] each.
  std::pair<Variable, Variable> lrpe_angles(const SequenceContext& ctx, Device device, DType dtype) const;

  AttentionConfig opt_;
  int64_t heads_, head_dim_;
  double norm_eps_;
  Tensor decay_;  // s_h, f32 [H] on the CPU (the kernel reads it there)
  Child<Linear> qkvu_proj_, out_proj_;
  Variable lrpe_theta_;  // [H, Dh], only with positions: lrpe
};

}  // namespace linea
