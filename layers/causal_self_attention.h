// Causal multi-head self-attention with grouped-query heads and RoPE (Llama): q/k/v/o
// projections without bias, head_dim = hidden / heads, fused scaled-dot-product attention,
// optionally over a sliding window of the `window` most recent keys (Mistral).
#pragma once
#include "layers/linear.h"

namespace linea {

class CausalSelfAttention : public Module {
 public:
  // heads must be a multiple of kv_heads and divide hidden; head_dim must be even.
  CausalSelfAttention(int64_t hidden, int64_t heads, int64_t kv_heads, Device device = Device::cpu(),
                      DType dtype = DType::f32, int64_t window = 0);
  // x [B,T,hidden], cos/sin [T, head_dim/2] f32 (kernels::rope_tables) -> [B,T,hidden].
  Variable forward(const Variable& x, const Tensor& cos, const Tensor& sin) const;

  int64_t heads() const { return heads_; }
  int64_t kv_heads() const { return kv_heads_; }
  int64_t head_dim() const { return head_dim_; }
  const Linear& q_proj() const { return *q_proj_; }
  const Linear& k_proj() const { return *k_proj_; }
  const Linear& v_proj() const { return *v_proj_; }
  const Linear& o_proj() const { return *o_proj_; }

 private:
  int64_t heads_, kv_heads_, head_dim_, window_;
  Child<Linear> q_proj_, k_proj_, v_proj_, o_proj_;
};

}  // namespace linea
