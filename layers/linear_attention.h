// LinearAttention: the TransNormer family's linear attention as a token mixer, two kinds
// sharing one path (specs/transnormer.md): φ on q and k, the Lightning kernel, SimpleRMSNorm
// over all heads' output, out_proj.
// - lightning (TransNormerLLM's GLA, §2.2, variant tnl): [q, k, v, u] = x W_qkvu without biases,
//   the kernel with the layer's per-head decay (§2.3), then o = SimpleRMSNorm(o) ⊙ u (the
//   output gate). Decoders only.
// - norm_linear (TransNormer v1's NormAttention, §1.2): [q, k, v] = x W_qkv + b, no 1/sqrt(d)
//   scale, no denominator, no decay: causal O = (Q Kᵀ ⊙ M) V in a decoder, bidirectional
//   O = Q (Kᵀ V) per sequence in an encoder; then SimpleRMSNorm and out_proj (with a bias).
//   φ is elu (T1) or elu_plus_one (T2).
// With positions: lrpe, q and k first go through LRPE (§2.4): x_p -> [x_p ⊙ cos(p θ), x_p ⊙
// sin(p θ)] with learnable θ [H, Dh] starting at 10000^(-2 (h Dh + c) / (H Dh)), so scores see
// cos(θ (t - s)) and the state is [2 Dh, Dh]; norm_linear may instead take v1's URPE
// (positions: urpe, layers/urpe.h) on φ(q) and φ(k). Causal kinds decode with the fixed
// [B, H, Dk, Dh] state: the prefill hands it over from the parallel form and each step updates
// it in O(1) (S <- λ S + kᵀ v, o = q S), through the same kernel.
// Deviation from v1 (say so in recipes): its norm puts ε outside the square root,
// x / (‖x‖/sqrt(d) + ε); linea's SimpleRMSNorm has it inside, x / sqrt(mean(x²) + ε), which
// differs by O(ε) relative for rows of unit scale. Weights start as the model's init
// (N(0, init_std), biases 0) instead of fairseq's xavier.
#pragma once
#include <vector>

#include "layers/token_mixer.h"
#include "layers/urpe.h"

namespace linea {

// The released code's decay of layer `layer` of `layers` (§2.3): s_h = slope_h (1 - l / (L - 1)
// + 1e-5) with ALiBi's slopes, and l / (L - 1) taken as 0 for a single layer. λ = exp(-s).
std::vector<double> tnl_decay(int64_t heads, int64_t layer, int64_t layers);

class LinearAttention : public TokenMixer {
 public:
  // a.kind is lightning or norm_linear; an encoder (m.kind) makes norm_linear bidirectional.
  LinearAttention(const AttentionConfig& a, const ModelConfig& m, int64_t layer, Device device, DType dtype);
  Variable forward(const Variable& x, const SequenceContext& ctx) const override;
  std::unique_ptr<MixerState> new_state(int64_t batch) const override;
  // 6 per projection weight plus the attention's 3 x (T' (Dk + Dv) + 4 Dk Dv) per head and
  // token (causal: T' = min(T, block), the causal half of the intra-block products, and the
  // inter-block product and state update; bidirectional: T' = 0), forward and backward.
  double flops_per_token(int64_t seq_len) const override;
  const Linear& output_projection() const override { return *out_proj_; }

 private:
  AttentionConfig opt_;
  int64_t heads_, head_dim_;
  double norm_eps_;
  bool causal_, gated_;
  Tensor decay_;  // lightning: s_h, f64 [H] on the CPU (the kernel reads it there); else undefined
  Child<Linear> in_proj_, out_proj_;  // in_proj: qkvu_proj (lightning) or qkv_proj (norm_linear)
  Variable lrpe_theta_;  // [H, Dh], only with positions: lrpe
  Child<Urpe> urpe_;     // only with positions: urpe (norm_linear)
};

}  // namespace linea
