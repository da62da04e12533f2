// KdaAttention: Kimi Delta Attention as a token mixer (specs/kimi_linear.md §1.2), with the
// Hugging Face layout's parameter names (§1.1):
//   q, k, v = SiLU(short_conv(x W_{q,k,v}ᵀ)) (conv_size taps, depthwise, causal; SiLU also
//     without the conv), split into H q/k heads of K and HV value heads of V;
//   q, k L2-normalised per head (x / sqrt(Σx² + 1e-6)); the kernel scales q by K^-1/2;
//   g = -exp(A_log) softplus(x W_f↓ᵀ W_f↑ᵀ + dt_bias), one log decay per (value head, key
//     channel) (decay: per_head: x a_projᵀ + dt_bias, one per value head: Gated DeltaNet);
//   β = sigmoid(x b_projᵀ); the gated delta rule (core/kernels/kda.h; or without the delta
//     rule, gated linear attention);
//   y = RMSNorm_V(o) ⊙ o_norm ⊙ act(G), G = x W_g↓ᵀ W_g↑ᵀ (rank low), x W_gᵀ (full) or no
//     gate; out = y o_projᵀ.
// Init (§1.5, fla's layer): Linear weights N(0, init_std) like every layer; A_log = log U(1, 16);
// dt_bias = softplus⁻¹(dt) with dt = exp(U(log 1e-3, log 0.1)) clamped at 1e-4; conv taps
// U(±1/sqrt(conv_size)) (PyTorch Conv1d's default for a depthwise conv); o_norm 1.
// Decoding keeps, per sequence, the three conv caches (the last conv_size - 1 pre-conv inputs)
// and the fp32-or-wider state [N, HV, K, V] (§1.6): constant memory per token.
// The softplus is the exact log1p form; fla passes z through above 20, a difference below
// 2e-9.
#pragma once
#include "layers/norm.h"
#include "layers/short_conv.h"
#include "layers/token_mixer.h"

namespace linea {

class KdaAttention : public TokenMixer {
 public:
  KdaAttention(const AttentionConfig& a, const ModelConfig& m, Device device, DType dtype);
  Variable forward(const Variable& x, const SequenceContext& ctx) const override;
  std::unique_ptr<MixerState> new_state(int64_t batch) const override;
  // 6 per weight of every projection and conv tap, plus the chunkwise algorithm per token and value head,
  // 6 K V + 3 C K + C² forward (§2.7, C = min(chunk, T)), x 3 with the backward.
  double flops_per_token(int64_t seq_len) const override;
  const Linear& output_projection() const override { return *o_proj_; }
  void init_own_parameters(Generator& gen) override;

  int64_t value_heads() const { return value_heads_; }

 private:
  // x rows -> SiLU(conv(x projᵀ)) as [B, T, width]; the conv cache goes through `conv_state`
  // when decoding.
  Variable conv_branch(const Linear& proj, const Child<ShortConv>& conv, const Variable& x, const SequenceContext& ctx,
                       Tensor* conv_state) const;

  KdaConfig opt_;
  int64_t heads_, value_heads_, key_dim_, value_dim_, gate_rank_;
  double norm_eps_;
  Child<Linear> q_proj_, k_proj_, v_proj_, f_a_proj_, f_b_proj_, a_proj_, b_proj_, g_a_proj_, g_b_proj_, g_proj_,
      o_proj_;
  Child<ShortConv> q_conv_, k_conv_, v_conv_;  // when conv_size > 0
  Variable A_log_, dt_bias_;                   // [HV]; [HV K] (per_channel) or [HV] (per_head)
  Child<Norm> o_norm_;                         // RMSNorm over V, one weight shared by the heads
};

}  // namespace linea
