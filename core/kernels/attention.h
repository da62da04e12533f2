// Fused softmax attention with grouped-query heads: forward (writes the row logsumexp)
// and the FlashAttention-2 recomputing backward. No T x T matrix is materialized.
// Shapes: q [B,H,T,D], k/v [B,Hkv,T,D], H % Hkv == 0, query head h reads kv head h / (H/Hkv).
#pragma once
#include "core/tensor.h"

namespace linea::kernels {

// out [B,H,T,D] = softmax(scale * q k^T (+ causal mask: key j <= query i)) v, softmax and
// accumulation in f32 (f64 for f64). scale = 0 means 1 / sqrt(D). When lse is non-null it
// receives logsumexp of each scaled score row, [B,H,T] in f32 (f64 for f64 inputs).
// Any strides (inputs are made contiguous); CUDA takes f32/bf16/f16 with D in {32, 64, 128}.
Tensor attention_fwd(const Tensor& q, const Tensor& k, const Tensor& v, bool causal, double scale, Tensor* lse);

struct AttentionGrads {
  Tensor dq;      // [B,H,T,D]
  Tensor dk, dv;  // [B,Hkv,T,D], summed over the H/Hkv query heads sharing each kv head
};
// Recomputes P = exp(S - lse) tile by tile: D_i = rowsum(dO_i * O_i), dP = dO v^T,
// dS = P * (dP - D), dq = scale dS k, dk = scale dS^T q, dv = P^T dO.
AttentionGrads attention_bwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& lse,
                             const Tensor& dout, bool causal, double scale);

}  // namespace linea::kernels

namespace linea {
// Sizes shared by the backends; scale already resolved (never 0).
struct AttentionDims {
  int64_t B, H, Hkv, T, D;
  bool causal;
  double scale;
};
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
