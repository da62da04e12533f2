// Lightning attention (TransNormerLLM's Lightning Attention-2): causal linear attention with a
// per-head exponential decay, O = ((Q K^T) ⊙ D) V with D_ij = λ_h^(i-j) for j <= i (0 above
// the diagonal), computed blockwise in O(T B Dk + T Dk Dv): inside a block of B rows the left
// product with the decay mask, across blocks the right product through a Dk x Dv state.
// Shapes: q, k [B, H, T, Dk], v [B, H, T, Dv] (Dk may differ from Dv, e.g. LRPE layers).
// Sequences lie on the T axis as for softmax attention (AttentionSegments: full rows, packed
// cu_seqlens or padded); sequences never see each other, padding rows get out = 0 and zero
// gradients. CPU: f32 and f64 (state and sums in the input's type). CUDA: f32, bf16 and f16 with
// f32 arithmetic and state inside the kernel (states in and out in the input's dtype),
// head dims up to 256.
//
// Non-causal (causal = false, no decay): O = Q (S_0 + Kᵀ V) over each whole sequence, TransNormer's
// bidirectional NormAttention; its final state is S_0 + Kᵀ V.
//
// State convention (specs/transnormer.md §3.3, "inclusive"): after tokens 0..n-1 of a sequence
// S_n = λ^n S_0 + Σ_j λ^(n-1-j) k_jᵀ v_j, and token i reads o_i = q_i (λ^(i+1) S_0 + Σ_{j<=i}
// λ^(i-j) k_jᵀ v_j). This is the decode recurrence's state: S <- λ S + k_tᵀ v_t, o_t = q_t S.
#pragma once
#include <cstdint>

#include "core/kernels/attention.h"
#include "core/tensor.h"

namespace linea::kernels {

struct LightningOptions {
  // s_h >= 0 per head, λ_h = exp(-s_h): [H] of any floating dtype and device, read as f64 (an
  // f64 model gets f64 decays), or undefined for λ = 1 (no
  // decay: TransNormer's causal norm_linear).
  Tensor decay;
  AttentionSegments segments;
  int64_t block = 64;  // rows per block; any T (the last block may be partial)
  bool causal = true;  // false: every row of a sequence sees all of it (requires no decay)
};

// out [B, H, T, Dv] in q's dtype. initial_state: [N, H, Dk, Dv] (N = sequences: segments, or
// B without) in q's dtype, or undefined for zeros; with final_state non-null it receives the
// state after each sequence, [N, H, Dk, Dv].
Tensor lightning_attn_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const LightningOptions& opt,
                          const Tensor& initial_state, Tensor* final_state);

struct LightningGrads {
  Tensor dq, dk, dv;
  Tensor dinitial_state;  // undefined when there was no initial state
};
// dout [B, H, T, Dv]; dfinal_state [N, H, Dk, Dv] or undefined (the final state unused).
// Recomputes the per-block states: a forward sweep gives dq, a reverse sweep of the state's
// gradient gives dk, dv and the initial state's gradient.
LightningGrads lightning_attn_bwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& dout,
                                  const LightningOptions& opt, const Tensor& initial_state,
                                  const Tensor& dfinal_state);

}  // namespace linea::kernels

namespace linea {

// Sizes shared by the backends, validated. Sequence s covers flat rows [seg_start[s],
// seg_start[s] + seg_length[s]) of the [B*T] row index; `decay` points at H f64 values
// (host memory) or is null.
struct LightningDims {
  int64_t B, H, T, Dk, Dv, block;
  const double* decay;
  const int64_t* seg_start;
  const int64_t* seg_length;
  int64_t segments;
  bool covers_all;  // no padding rows to zero
  bool causal;
};

}  // namespace linea

namespace linea::cpu {
// Contiguous CPU tensors of one floating dtype; states [N, H, Dk, Dv] or undefined.
void lightning_attn_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                        const Tensor& initial_state, const Tensor& final_state, const LightningDims& d);
void lightning_attn_bwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& dout,
                        const Tensor& initial_state, const Tensor& dfinal_state, const Tensor& dq, const Tensor& dk,
                        const Tensor& dv, const Tensor& dinitial_state, const LightningDims& d);
}  // namespace linea::cpu

namespace linea::cuda {
// The same contract on CUDA tensors (f32, bf16 or f16); the kernel takes Dk and Dv up to 320
// (kernels:: admits 256; hedgehog_window's sweep adds a column of ones to v).
void lightning_attn_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                        const Tensor& initial_state, const Tensor& final_state, const LightningDims& d);
void lightning_attn_bwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& dout,
                        const Tensor& initial_state, const Tensor& dfinal_state, const Tensor& dq, const Tensor& dk,
                        const Tensor& dv, const Tensor& dinitial_state, const LightningDims& d);
}  // namespace linea::cuda
