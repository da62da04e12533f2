// Causal self-attention: project, split heads, rotate q and k, attend, merge heads, project.
#include "layers/causal_self_attention.h"

#include "autograd/ops/attention.h"
#include "autograd/ops/rope.h"
#include "autograd/ops/views.h"

namespace linea {

CausalSelfAttention::CausalSelfAttention(int64_t hidden, int64_t heads, int64_t kv_heads, Device device, DType dtype,
                                         int64_t window)
    : heads_(heads), kv_heads_(kv_heads), head_dim_(heads > 0 ? hidden / heads : 0), window_(window) {
  LINEA_CHECK_T(ConfigError, window >= 0, "CausalSelfAttention: window ", window, " must be >= 0 (0: none)");
  LINEA_CHECK_T(ConfigError, heads > 0 && kv_heads > 0 && hidden % heads == 0 && heads % kv_heads == 0,
                "CausalSelfAttention: heads (", heads, ") must divide hidden (", hidden,
                ") and be a multiple of kv_heads (", kv_heads, ")");
  LINEA_CHECK_T(ConfigError, head_dim_ % 2 == 0, "CausalSelfAttention: head_dim = hidden / heads = ", head_dim_,
                " must be even for RoPE");
  q_proj_ = register_module("q_proj", std::make_shared<Linear>(hidden, heads * head_dim_, false, device, dtype));
  k_proj_ = register_module("k_proj", std::make_shared<Linear>(hidden, kv_heads * head_dim_, false, device, dtype));
  v_proj_ = register_module("v_proj", std::make_shared<Linear>(hidden, kv_heads * head_dim_, false, device, dtype));
  o_proj_ = register_module("o_proj", std::make_shared<Linear>(heads * head_dim_, hidden, false, device, dtype));
}

Variable CausalSelfAttention::forward(const Variable& x, const Tensor& cos, const Tensor& sin) const {
  LINEA_CHECK(x.dim() == 3, "CausalSelfAttention: expected x [B, T, hidden], got ", x.data().desc());
  const int64_t B = x.size(0), T = x.size(1);
  // [B,T,n*D] -> [B,n,T,D]
  auto split_heads = [&](const Variable& y, int64_t n) {
    return contiguous(transpose(reshape(y, {B, T, n, head_dim_}), 1, 2));
  };
  Variable q = rope(split_heads(q_proj_->forward(x), heads_), cos, sin);
  Variable k = rope(split_heads(k_proj_->forward(x), kv_heads_), cos, sin);
  Variable v = split_heads(v_proj_->forward(x), kv_heads_);
  kernels::AttentionOptions options;
  options.causal = true;
  options.window = window_;
  Variable out = scaled_dot_product_attention(q, k, v, options);
  return o_proj_->forward(reshape(contiguous(transpose(out, 1, 2)), {B, T, heads_ * head_dim_}));
}

}  // namespace linea
