// Block.
#include "layers/block.h"

#include "autograd/ops/dropout.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/gather.h"
#include "core/rng.h"

namespace linea {

Block::Block(const LayerSpec& spec, const ModelConfig& m, int64_t layer, HfLayout layout, Device device, DType dtype)
    : spec_(spec), pre_norm_(m.norm.position == NormPosition::pre), dropout_(m.dropout) {
  const bool llama = layout == HfLayout::llama;
  auto norm = [&] { return make_norm(m.norm, m.hidden, device, dtype); };
  // Registered in the order they run, so parameter listings read like the forward pass.
  const double ffn_dropout = pre_norm_ ? 0.0 : m.dropout;
  if (pre_norm_) {
    mixer_norm_ = register_module(llama ? "input_layernorm" : "attention_norm", norm());
    mixer_ = register_module(llama ? "self_attn" : "attention", make_token_mixer(spec.attention, m, layer, layout, device, dtype));
    ffn_norm_ = register_module(llama ? "post_attention_layernorm" : "mlp_norm", norm());
    ffn_ = register_module("mlp", make_channel_mixer(spec.ffn, m, layout, ffn_dropout, device, dtype));
  } else {
    mixer_ = register_module(llama ? "self_attn" : "attention", make_token_mixer(spec.attention, m, layer, layout, device, dtype));
    mixer_norm_ = register_module(llama ? "input_layernorm" : "attention_norm", norm());
    ffn_ = register_module("mlp", make_channel_mixer(spec.ffn, m, layout, ffn_dropout, device, dtype));
    ffn_norm_ = register_module(llama ? "post_attention_layernorm" : "mlp_norm", norm());
  }
}

Variable Block::forward(const Variable& x, const SequenceContext& ctx) const {
  auto drop = [&](const Variable& y) { return dropout(y, dropout_, default_generator(), is_training()); };
  const Variable residual = ctx.output_rows.defined() ? index_select(x, 0, ctx.output_rows) : x;
  if (pre_norm_) {
    Variable h = residual + drop(mixer_->forward(mixer_norm_->forward(x), ctx));
    return h + drop(ffn_->forward(ffn_norm_->forward(h)));
  }
  Variable h = mixer_norm_->forward(residual + drop(mixer_->forward(x, ctx)));
  return ffn_norm_->forward(h + ffn_->forward(h));
}

}  // namespace linea
