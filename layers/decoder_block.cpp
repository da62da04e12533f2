// DecoderBlock.
#include "layers/decoder_block.h"

#include "autograd/ops/dropout.h"
#include "autograd/ops/elementwise.h"

namespace linea {

DecoderBlock::DecoderBlock(const DecoderOptions& opt, Device device, DType dtype) : dropout_(opt.dropout) {
  input_layernorm_ = register_module("input_layernorm", std::make_shared<RMSNorm>(opt.hidden, opt.norm_eps, device, dtype));
  self_attn_ = register_module(
      "self_attn", std::make_shared<CausalSelfAttention>(opt.hidden, opt.heads, opt.kv_heads, device, dtype, opt.window));
  post_attention_layernorm_ =
      register_module("post_attention_layernorm", std::make_shared<RMSNorm>(opt.hidden, opt.norm_eps, device, dtype));
  mlp_ = register_module("mlp", std::make_shared<SwiGLU>(opt.hidden, opt.ffn_hidden, device, dtype));
}

Variable DecoderBlock::forward(const Variable& x, const Tensor& cos, const Tensor& sin) const {
  auto drop = [&](const Variable& y) { return dropout(y, dropout_, default_generator(), is_training()); };
  Variable h = x + drop(self_attn_->forward(input_layernorm_->forward(x), cos, sin));
  return h + drop(mlp_->forward(post_attention_layernorm_->forward(h)));
}

}  // namespace linea
