// Fused softmax attention with grouped-query heads, optional ALiBi, an optional causal
// sliding window and variable-length sequences: forward (writes the row logsumexp) and the
// FlashAttention-2 recomputing backward. No T x T matrix is materialized, and keys outside
// a query's window are never visited.
// Shapes: q [B,H,T,D], k/v [B,Hkv,T,D], H % Hkv == 0, query head h reads kv head h / (H/Hkv).
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace linea::kernels {

// Where the sequences lie on the T axis. Every (batch entry, head) plane of T rows holds
// whole sequences; a query attends only to keys of its own sequence, positions i, j count
// from the sequence's start. Segment s covers flat rows [start[s], start[s] + length[s])
// of the [B*T] row index (b*T + t) and must not cross a batch entry. Rows outside every
// segment (padding) get out = 0, lse = 0 and zero gradients.
//   - empty (the default): one sequence of length T per batch entry;
//   - packed(cu_seqlens): unpadded batches, B = 1 and T = total tokens (MosaicBERT);
//   - padded(lengths, T): [B, T] batches whose row b has lengths[b] real tokens first.
struct AttentionSegments {
  std::vector<int64_t> start, length;

  static AttentionSegments packed(const std::vector<int64_t>& cu_seqlens);
  static AttentionSegments padded(const std::vector<int64_t>& lengths, int64_t T);
  bool empty() const { return start.empty(); }
  int64_t max_length() const;
};

struct AttentionOptions {
  bool causal = false;  // key j <= query i within the sequence
  // Causal sliding window (Mistral's sliding_window): query i sees the `window` keys
  // i - window < j <= i, itself included; 0 means no window. Requires causal.
  int64_t window = 0;
  double scale = 0;     // 0 means 1 / sqrt(D)
  // f32 [H] on q's device, or undefined for none: adds -slope[h] * |i - j| to every score
  // (ALiBi; symmetric for bidirectional attention, the usual -slope * (i - j) when causal).
  Tensor alibi_slopes;
  AttentionSegments segments;
};

// out [B,H,T,Dv] = softmax(scale * q k^T + alibi + masks) v, softmax and accumulation in
// f32 (f64 for f64). q, k [.., D]; v may have its own head dim Dv (MLA: 192 and 128, or its
// latent form 576 and 512). When lse is non-null it receives logsumexp of each scaled score
// row, [B,H,T] in f32 (f64 for f64 inputs). Any strides (inputs are made contiguous); CUDA
// takes f32/bf16/f16 with (D, Dv) in {(32, 32), (64, 64), (128, 128), (96, 64), (192, 128)}.
Tensor attention_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& opt, Tensor* lse);

struct AttentionGrads {
  Tensor dq;      // [B,H,T,D]
  Tensor dk, dv;  // [B,Hkv,T,D] and [B,Hkv,T,Dv], summed over the H/Hkv query heads sharing each kv head
};
// Recomputes P = exp(S - lse) tile by tile: D_i = rowsum(dO_i * O_i), dP = dO v^T,
// dS = P * (dP - D), dq = scale dS k, dk = scale dS^T q, dv = P^T dO.
AttentionGrads attention_bwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& lse,
                             const Tensor& dout, const AttentionOptions& opt);

// ALiBi slopes of Press et al. for `heads` heads, in head order: 2^(-8k/n), k = 1..n, for a
// power of two n; otherwise those of the largest power of two c < n followed by the first
// n - c odd-k slopes 2^(-4k/c), k = 1, 3, 5, ... (ofirpress/attention_with_linear_biases).
std::vector<float> alibi_slopes(int64_t heads);

}  // namespace linea::kernels

namespace linea {
// Sizes shared by the backends, validated; scale already resolved (never 0). The segment
// arrays are host memory (the CUDA backend uploads them); there is always at least one
// segment (the default layout is expanded to B segments of length T). alibi is null or
// points at H f32 slopes on the tensors' device.
struct AttentionDims {
  int64_t B, H, Hkv, T, D;
  int64_t Dv;  // v's and out's head dim (D for all but MLA)
  bool causal;
  int64_t window;  // 0 or >= 1 (causal only)
  double scale;
  const float* alibi;
  const int64_t* seg_start;
  const int64_t* seg_length;
  int64_t segments;
  int64_t max_length;  // longest segment
  bool covers_all;     // the segments cover every row (no padding rows to zero)
};

// The keys [first, last) that query row i of a sequence of length L sees.
inline int64_t first_key(const AttentionDims& d, int64_t i) { return d.window > 0 ? std::max<int64_t>(0, i - d.window + 1) : 0; }
inline int64_t last_key(const AttentionDims& d, int64_t i, int64_t L) { return d.causal ? i + 1 : L; }
}  // namespace linea

namespace linea::cpu {
// All tensors contiguous and on the CPU; q/k/v/out/dout/dq/dk/dv share one floating
// dtype; lse is f32 (f64 for f64).
void attention_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& lse,
                   const AttentionDims& d);
void attention_bwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& lse,
                   const Tensor& dout, const Tensor& dq, const Tensor& dk, const Tensor& dv, const AttentionDims& d);
}  // namespace linea::cpu

namespace linea::cuda {
void attention_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& lse,
                   const AttentionDims& d);
void attention_bwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& lse,
                   const Tensor& dout, const Tensor& dq, const Tensor& dk, const Tensor& dv, const AttentionDims& d);
}  // namespace linea::cuda
