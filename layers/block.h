// Block: norm -> token mixer -> residual -> norm -> channel mixer -> residual, with the norms
// before the mixers (pre-norm, Llama) or after each residual sum (post-norm, BERT):
//   pre:  h = x + drop(mixer(norm1(x)));  y = h + drop(ffn(norm2(h)))
//   post: h = norm1(x + drop(mixer(x)));  y = norm2(h + ffn(h))   (BERT drops inside the ffn)
// Children are named as the model family's Hugging Face layers (Llama: input_layernorm,
// self_attn, post_attention_layernorm, mlp; BERT: attention, attention_norm, mlp, mlp_norm).
#pragma once
#include "layers/norm.h"
#include "layers/token_mixer.h"

namespace linea {

class Block : public Module {
 public:
  // `layer`: the block's 0-based index in the model.
  Block(const LayerSpec& spec, const ModelConfig& m, int64_t layer, HfLayout layout, Device device, DType dtype);
  // x [B*T, hidden] -> [B*T, hidden], or [S, hidden] for ctx.output_rows (the mixer's
  // keys and values still come from every row). Dropout masks come from default_generator()
  // (which checkpoint() replays).
  Variable forward(const Variable& x, const SequenceContext& ctx) const;

  const LayerSpec& spec() const { return spec_; }
  const TokenMixer& mixer() const { return *mixer_; }
  const ChannelMixer& ffn() const { return *ffn_; }
  Norm& mixer_norm() const { return *mixer_norm_; }
  Norm& ffn_norm() const { return *ffn_norm_; }

 private:
  LayerSpec spec_;
  bool pre_norm_;
  double dropout_;
  Child<Norm> mixer_norm_, ffn_norm_;
  Child<TokenMixer> mixer_;
  Child<ChannelMixer> ffn_;
};

}  // namespace linea
