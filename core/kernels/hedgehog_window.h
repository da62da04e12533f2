// LoLCATs' hybrid attention (specs/lolcats.md §1.4-1.5): softmax over a window of recent keys
// plus linear attention over every older key, sharing one normalizer. For query i of a head:
//
//   s_ij = q_i·k_j · scale,  c_i = max_{j∈W(i)} s_ij,  E_ij = γ_h exp(s_ij − c_i),  A_ij = λ_h fq_i·fk_j
//   y_i  = (Σ_{W(i)} E_ij v_j + Σ_{Λ(i)} A_ij v_j + λ_h fq_i S_0) / (Σ_W E_ij + Σ_Λ A_ij + λ_h fq_i·z_0)
//
// fq, fk are the feature maps' outputs φq(q), φk(k) (non-negative), γ_h the window weight
// (sigmoid of the layer's window factor), λ_h the linear weight (1, or 1 − γ_h with affine
// factors), S_0 [F, Dv] and z_0 [F] an optional initial linear state (tokens before the
// sequence). c_i is part of the model, not only a stabiliser (the linear terms are not scaled
// by exp(−c_i)), so the backward carries its gradient, split evenly among tied maxima as
// torch.amax does.
//
// Window layouts, with positions 0..l−1 of a sequence of length l and window w:
//   sliding: W(i) = {i − w < j <= i}, Λ(i) = {j <= i − w}.
//   terrace: blocks of w aligned to the sequence's end (o = (−l) mod w, B(j) = ⌊(j + o) / w⌋);
//            W(i) = {j <= i : B(j) >= B(i) − 1}, Λ(i) = {j : B(j) <= B(i) − 2}. A sequence of at
//            most w tokens is one block: Λ is empty (the reference counts every pair twice
//            there; linea takes the intended semantics, spec §7).
//   window 0 (either layout): pure linear attention (LoLCATs' `lolcats_llama`), Λ(i) = {j <= i},
//            with den + 1e-12 as the reference (nothing else keeps it from 0).
// Computed blockwise (§1.5): the rows of block t attend to the keys of blocks t − 1 and t
// (window, and for sliding also the linear pairs among them), and to blocks <= t − 2 through a
// running state S = Σ fk_jᵀ v_j, z = Σ fk_j. O(l (2w (D + Dv) + F Dv)) per head.
//
// Shapes: q, k [B, H, T, D], v [B, H, T, Dv], fq, fk [B, H, T, F]; γ, λ [H]; sequences on the
// T axis as for softmax attention (AttentionSegments: full rows, packed cu_seqlens or padded);
// sequences never see each other, padding rows get y = 0 and zero gradients. CPU: f32 and f64
// (every sum in the input's type). CUDA: f32, bf16, f16 with f32 arithmetic, D, Dv, F <= 256
// (core/cuda/hedgehog_window.cu: the linear part as one inclusive sweep minus the window's
// linear terms).
#pragma once
#include <cstdint>

#include "core/half.h"
#include "core/kernels/attention.h"
#include "core/tensor.h"

namespace linea::kernels {

enum class WindowLayout : uint8_t { terrace, sliding };

// The first key of position p's window in a sequence of len tokens: keys [start, p] are its
// softmax window W(p), keys [0, start) its linear part Λ(p) (window 0: start = p + 1, all linear).
LINEA_HD int64_t hedgehog_window_start(int64_t p, int64_t len, int64_t window, bool terrace) {
  if (window == 0) return p + 1;
  if (!terrace) return p - window + 1 > 0 ? p - window + 1 : 0;
  const int64_t o = ((-len) % window + window) % window, block = (p + o) / window;
  return block == 0 || (block - 1) * window - o < 0 ? 0 : (block - 1) * window - o;
}

// Added to the denominator of pure linear attention (window 0), as LoLCATs' reference does.
constexpr double kPureLinearEps = 1e-12;

struct HedgehogWindowOptions {
  WindowLayout layout = WindowLayout::terrace;
  int64_t window = 64;  // w >= 1, or 0 for pure linear attention
  double scale = 0;     // logits scale; 0 means 1 / sqrt(D)
  AttentionSegments segments;
};

// An initial or final linear state per sequence: S [N, H, F, Dv], z [N, H, F] (N = sequences:
// segments, or B without), both defined or both undefined.
struct LinearState {
  Tensor S, z;
  bool defined() const { return S.defined(); }
};

struct HedgehogWindowOutput {
  Tensor out;  // [B, H, T, Dv] in q's dtype
  // With final_state requested: S_0 + Σ_{j < l − w} fk_jᵀ v_j (z likewise) per sequence, the
  // state a decoder continues from while it keeps the last w tokens as its window (the
  // LoLCATs decode cache; for l <= w it is the initial state).
  LinearState final_state;
};

// gamma, lambda: [H] in q's dtype and device.
HedgehogWindowOutput hedgehog_window_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& fq,
                                         const Tensor& fk, const Tensor& gamma, const Tensor& lambda,
                                         const HedgehogWindowOptions& opt, const LinearState& initial_state,
                                         bool final_state);

struct HedgehogWindowGrads {
  Tensor dq, dk, dv, dfq, dfk, dgamma, dlambda;
  LinearState dinitial_state;  // undefined when there was no initial state
};
// dout [B, H, T, Dv]; dfinal_state: the final state's gradient, or undefined (unused).
// Recomputes each block's logits and state: a forward sweep for every row's gradient, a
// reverse sweep of the state's gradient into the keys it folded.
HedgehogWindowGrads hedgehog_window_bwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& fq,
                                        const Tensor& fk, const Tensor& gamma, const Tensor& lambda,
                                        const Tensor& dout, const HedgehogWindowOptions& opt,
                                        const LinearState& initial_state, const LinearState& dfinal_state);

}  // namespace linea::kernels

namespace linea {

// Sizes shared by the backends, validated. Sequence s covers flat rows [seg_start[s],
// seg_start[s] + seg_length[s]) of the [B*T] row index.
struct HedgehogWindowDims {
  int64_t B, H, T, D, Dv, F, window;
  kernels::WindowLayout layout;
  double scale;
  const int64_t* seg_start;
  const int64_t* seg_length;
  int64_t segments;
};

}  // namespace linea

namespace linea::cpu {
// Contiguous CPU tensors of one floating dtype; state tensors undefined when absent. out and
// the gradients of the rows are written (padding rows are left to the caller's zeroing).
void hedgehog_window_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& fq, const Tensor& fk,
                         const Tensor& gamma, const Tensor& lambda, const Tensor& S0, const Tensor& z0,
                         const Tensor& out, const Tensor& S_final, const Tensor& z_final, const HedgehogWindowDims& d);
// dgamma, dlambda: [N, H] per-sequence partial sums (the caller reduces them).
void hedgehog_window_bwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& fq, const Tensor& fk,
                         const Tensor& gamma, const Tensor& lambda, const Tensor& S0, const Tensor& z0,
                         const Tensor& dout, const Tensor& dS_final, const Tensor& dz_final, const Tensor& dq,
                         const Tensor& dk, const Tensor& dv, const Tensor& dfq, const Tensor& dfk, const Tensor& dgamma,
                         const Tensor& dlambda, const Tensor& dS0, const Tensor& dz0, const HedgehogWindowDims& d);
}  // namespace linea::cpu

namespace linea::cuda {
// The same contract on CUDA tensors (f32, bf16 or f16).
void hedgehog_window_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& fq, const Tensor& fk,
                         const Tensor& gamma, const Tensor& lambda, const Tensor& S0, const Tensor& z0,
                         const Tensor& out, const Tensor& S_final, const Tensor& z_final, const HedgehogWindowDims& d);
void hedgehog_window_bwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& fq, const Tensor& fk,
                         const Tensor& gamma, const Tensor& lambda, const Tensor& S0, const Tensor& z0,
                         const Tensor& dout, const Tensor& dS_final, const Tensor& dz_final, const Tensor& dq,
                         const Tensor& dk, const Tensor& dv, const Tensor& dfq, const Tensor& dfk, const Tensor& dgamma,
                         const Tensor& dlambda, const Tensor& dS0, const Tensor& dz0, const HedgehogWindowDims& d);
}  // namespace linea::cuda
