// Differentiable fused softmax attention with grouped-query heads, optional ALiBi, a causal
// sliding window (AttentionOptions::window) and
// variable-length sequences (FlashAttention-style recomputing backward):
// q [B,H,T,D], k/v [B,Hkv,T,D] (H a multiple of Hkv) -> [B,H,T,D].
#pragma once
#include "autograd/variable.h"
#include "core/kernels/attention.h"

namespace linea {

// out = softmax(q k^T * scale + alibi + masks) v, query head h reading kv head h / (H / Hkv),
// each query seeing only its own sequence (see kernels::AttentionOptions). Softmax and
// accumulation in fp32 (f64 for f64). The slopes are constants (no gradient).
Variable scaled_dot_product_attention(const Variable& q, const Variable& k, const Variable& v,
                                      const kernels::AttentionOptions& options);

// The common case: one sequence of length T per batch entry, no ALiBi; scale = 0 means 1 / sqrt(D).
inline Variable scaled_dot_product_attention(const Variable& q, const Variable& k, const Variable& v, bool causal,
                                             double scale = 0) {
  kernels::AttentionOptions o;
  o.causal = causal;
  o.scale = scale;
  return scaled_dot_product_attention(q, k, v, o);
}

}  // namespace linea
