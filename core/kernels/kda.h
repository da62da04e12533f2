// Kimi Delta Attention (specs/kimi_linear.md §1-2): the gated delta rule with a channel-wise
// decay. Per value head e (reading q/k head e / G, G = HV / H, "grouped value heads" §1.7) and
// token t, with the state S [K, V] (row i = key channel i):
//   S <- Diag(exp(g_t)) S;  u = β_t (v_t - Sᵀ k_t);  S <- S + k_t uᵀ;  o_t = scale Sᵀ q_t
// (the decay first, the output from the updated state). With delta_rule = false the u line
// is u = β_t v_t: gated linear attention, the "no delta rule" baseline of §8.
//
// Shapes: q, k [B, H, T, K]; v [B, HV, T, V]; g [B, HV, T, K] per-step log decays (<= 0;
// a per-head scalar gate, Gated DeltaNet, is g broadcast over K); β [B, HV, T]. q and k come
// already normalised (the layer L2-normalises them). Sequences lie on the T axis as for the
// other sequence mixers (AttentionSegments: full rows, packed cu_seqlens or padded); they never
// see each other, padding rows get out = 0 and zero gradients. States are [N, HV, K, V]
// (N = sequences; §1.6's one layout, key-major) in q's dtype: f32 or f64 on the CPU; f32, bf16
// or f16 on CUDA (f32 arithmetic and state inside the kernel), K up to 256.
//
// Two algorithms compute the same function: kda_recurrent_fwd, the token-by-token loop of
// §1.4 (the oracle, O(T K V)), and kda_fwd / kda_bwd, the chunkwise form of §2 (chunks of
// `chunk` rows; inside one, the UT transform T = (I + A_kk)^-1 by forward substitution, across
// chunks the state). Numerics (§2.4): every exponent is of a non-positive difference of
// cumulative log decays, never exp(G_r) exp(-G_s) over a chunk, so g of -30 per step (G falls
// by hundreds within a chunk) stays finite; sums and state in the input's type. On CUDA both
// run the token recurrence, one warp per value column (core/cuda/kda.cu); the chunkwise CUDA
// kernel is still to come.
#pragma once
#include <cstdint>

#include "core/kernels/attention.h"
#include "core/tensor.h"

namespace linea::kernels {

struct KdaOptions {
  AttentionSegments segments;
  int64_t chunk = 64;  // rows per chunk: 16, 32 or 64; any T (the last chunk may be partial)
  double scale = 0;    // multiplies q; 0 means K^-1/2
  bool delta_rule = true;
};

// out [B, HV, T, V] in q's dtype. initial_state [N, HV, K, V] or undefined for zeros; with
// final_state non-null it receives the state after each sequence.
// chunk_states non-null (spec §2.2's return_chunk_states, for prefix caches): the state
// entering each chunk, h[n] = the state after the sequence's first n * chunk tokens (h[0] the
// initial state), as [N, HV, slots, K, V] in §1.6's layout, slots = the longest sequence's
// chunk count; slots past a shorter sequence's last chunk are 0. f64 for f64 inputs, else
// fp32 whatever q's type (fla stores them in bf16; a bf16 state drifts, §6). Both algorithms
// give them, so the recurrence checks the chunked kernel's.
Tensor kda_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta,
               const KdaOptions& opt, const Tensor& initial_state, Tensor* final_state,
               Tensor* chunk_states = nullptr);
Tensor kda_recurrent_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta,
                         const KdaOptions& opt, const Tensor& initial_state, Tensor* final_state,
                         Tensor* chunk_states = nullptr);

// §1.6's conversion point for peers that keep the state V-first, [N, HV, V, K]: fla's KDA
// layer since 0.5.1 (state_v_first=True), vLLM's and sglang's serving caches. Transposes the
// last two axes (nothing else) into a new contiguous tensor; the same call converts back. HF's
// cache and fla's kernels at their default already use linea's [N, HV, K, V].
Tensor kda_state_transpose(const Tensor& state);

struct KdaGrads {
  Tensor dq, dk, dv, dg, dbeta;
  Tensor dinitial_state;  // undefined when there was no initial state
};
// dout [B, HV, T, V]; dfinal_state [N, HV, K, V] or undefined (the final state unused).
// Recomputes the chunk states with one forward sweep, then runs the state's gradient back
// over the chunks (§2.5).
KdaGrads kda_bwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta,
                 const Tensor& dout, const KdaOptions& opt, const Tensor& initial_state, const Tensor& dfinal_state);

}  // namespace linea::kernels

namespace linea {

// Sizes shared by the backends, validated. Sequence s covers flat rows [seg_start[s],
// seg_start[s] + seg_length[s]) of the [B*T] row index.
struct KdaDims {
  int64_t B, H, HV, T, K, V, chunk;
  double scale;
  bool delta_rule;
  const int64_t* seg_start;
  const int64_t* seg_length;
  int64_t segments;
  bool covers_all;  // no padding rows to zero
  int64_t group() const { return HV / H; }
};

}  // namespace linea

namespace linea::cpu {
// Contiguous CPU tensors of one floating dtype; states [N, HV, K, V], chunk states
// [N, HV, slots, K, V] (zeroed), each undefined when not wanted.
void kda_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta, const Tensor& out,
             const Tensor& initial_state, const Tensor& final_state, const Tensor& chunk_states, const KdaDims& d);
void kda_recurrent_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta,
                       const Tensor& out, const Tensor& initial_state, const Tensor& final_state,
                       const Tensor& chunk_states, const KdaDims& d);
// dq and dk arrive zeroed (value heads of a group add into their q/k head).
void kda_bwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta,
             const Tensor& dout, const Tensor& initial_state, const Tensor& dfinal_state, const Tensor& dq,
             const Tensor& dk, const Tensor& dv, const Tensor& dg, const Tensor& dbeta, const Tensor& dinitial_state,
             const KdaDims& d);
}  // namespace linea::cpu

namespace linea::cuda {
// The same contract on CUDA tensors (f32, bf16 or f16; chunk states f32); both forwards run
// the recurrence.
void kda_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta, const Tensor& out,
             const Tensor& initial_state, const Tensor& final_state, const Tensor& chunk_states, const KdaDims& d);
void kda_recurrent_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta,
                       const Tensor& out, const Tensor& initial_state, const Tensor& final_state,
                       const Tensor& chunk_states, const KdaDims& d);
void kda_bwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta,
             const Tensor& dout, const Tensor& initial_state, const Tensor& dfinal_state, const Tensor& dq,
             const Tensor& dk, const Tensor& dv, const Tensor& dg, const Tensor& dbeta, const Tensor& dinitial_state,
             const KdaDims& d);
}  // namespace linea::cuda
