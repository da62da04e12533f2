// EncoderSelfAttention and EncoderBlock.
#include "layers/encoder_block.h"

#include "autograd/ops/attention.h"
#include "autograd/ops/dropout.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/gather.h"
#include "autograd/ops/views.h"
#include "core/rng.h"

namespace linea {

EncoderSelfAttention::EncoderSelfAttention(int64_t hidden, int64_t heads, Device device, DType dtype)
    : heads_(heads), head_dim_(hidden / heads) {
  Wqkv_ = register_module("Wqkv", std::make_shared<Linear>(hidden, 3 * hidden, true, device, dtype));
  out_proj_ = register_module("out_proj", std::make_shared<Linear>(hidden, hidden, true, device, dtype));
}

Variable EncoderSelfAttention::attend(const Variable& x, const RowLayout& layout) const {
  const int64_t B = layout.B, T = layout.T, C = heads_ * head_dim_;
  LINEA_CHECK(x.dim() == 2 && x.size(0) == B * T && x.size(1) == C, "EncoderSelfAttention: expected x [", B * T,
              ", ", C, "], got ", x.data().desc());
  // [B*T, 3C] -> [B, T, 3, heads, D]; q, k, v each -> [B, heads, T, D].
  Variable qkv = reshape(Wqkv_->forward(x), {B, T, 3, heads_, head_dim_});
  auto heads_first = [&](int64_t i) { return permute(select(qkv, 2, i), {0, 2, 1, 3}); };
  Variable out = scaled_dot_product_attention(heads_first(0), heads_first(1), heads_first(2), layout.attention);
  return reshape(contiguous(transpose(out, 1, 2)), {B * T, C});
}

EncoderBlock::EncoderBlock(const EncoderOptions& opt, Device device, DType dtype) : dropout_(opt.dropout) {
  attention_ = register_module("attention", std::make_shared<EncoderSelfAttention>(opt.hidden, opt.heads, device, dtype));
  attention_norm_ =
      register_module("attention_norm", std::make_shared<LayerNorm>(opt.hidden, opt.norm_eps, true, device, dtype));
  mlp_ = register_module("mlp", std::make_shared<GeGLU>(opt.hidden, opt.ffn_hidden, opt.dropout, device, dtype));
  mlp_norm_ = register_module("mlp_norm", std::make_shared<LayerNorm>(opt.hidden, opt.norm_eps, true, device, dtype));
}

Variable EncoderBlock::forward(const Variable& x, const RowLayout& layout, const Tensor& subset) const {
  Variable o = attention_->attend(x, layout);
  Variable residual = x;
  if (subset.defined()) {
    o = index_select(o, 0, subset);
    residual = index_select(x, 0, subset);
  }
  Variable projected = dropout(attention_->out_proj().forward(o), dropout_, default_generator(), is_training());
  Variable a = attention_norm_->forward(residual + projected);
  return mlp_norm_->forward(a + mlp_->forward(a));
}

}  // namespace linea
