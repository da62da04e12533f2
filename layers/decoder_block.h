// DecoderBlock (Llama, pre-norm): h = x + attn(input_layernorm(x));
// y = h + mlp(post_attention_layernorm(h)), with dropout on both branches in training.
#pragma once
#include "layers/causal_self_attention.h"
#include "layers/decoder_options.h"
#include "layers/rms_norm.h"
#include "layers/swiglu.h"

namespace linea {

class DecoderBlock : public Module {
 public:
  DecoderBlock(const DecoderOptions& opt, Device device = Device::cpu(), DType dtype = DType::f32);
  // x [B,T,hidden], cos/sin [T, head_dim/2] rope tables -> [B,T,hidden]. Dropout masks
  // come from default_generator() (which checkpoint() replays).
  Variable forward(const Variable& x, const Tensor& cos, const Tensor& sin) const;

  const RMSNorm& input_layernorm() const { return *input_layernorm_; }
  const CausalSelfAttention& self_attn() const { return *self_attn_; }
  const RMSNorm& post_attention_layernorm() const { return *post_attention_layernorm_; }
  const SwiGLU& mlp() const { return *mlp_; }

 private:
  double dropout_;
  Child<RMSNorm> input_layernorm_;
  Child<CausalSelfAttention> self_attn_;
  Child<RMSNorm> post_attention_layernorm_;
  Child<SwiGLU> mlp_;
};

}  // namespace linea
