// Differentiable fused softmax attention with grouped-query heads (FlashAttention-style
// recomputing backward): q [B,H,T,D], k/v [B,Hkv,T,D] (H a multiple of Hkv) -> [B,H,T,D].
#pragma once
#include "autograd/variable.h"

namespace linea {

// out = softmax(q k^T * scale (+ causal mask)) v, query head h reading kv head
// h / (H / Hkv). scale = 0 means 1 / sqrt(D). Softmax and accumulation in fp32 (f64 for f64).
Variable scaled_dot_product_attention(const Variable& q, const Variable& k, const Variable& v, bool causal,
                                      double scale = 0);

}  // namespace linea
