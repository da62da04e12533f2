// The factories: one place that maps each mixer kind's options to its class.
#include "layers/token_mixer.h"

#include "layers/diag_block_attention.h"
#include "layers/geglu.h"
#include "layers/glu.h"
#include "layers/hedgehog_window_attention.h"
#include "layers/kda_attention.h"
#include "layers/linear_attention.h"
#include "layers/mla_attention.h"
#include "layers/moe.h"
#include "layers/softmax_attention.h"

namespace linea {

std::shared_ptr<TokenMixer> make_token_mixer(const AttentionConfig& a, const ModelConfig& m, int64_t layer,
                                             HfLayout layout, Device device, DType dtype) {
  if (a.kind == AttentionKind::softmax) return std::make_shared<SoftmaxAttention>(a, m, layout, device, dtype);
  if (a.kind == AttentionKind::lightning || a.kind == AttentionKind::norm_linear)
    return std::make_shared<LinearAttention>(a, m, layer, device, dtype);
  if (a.kind == AttentionKind::diag_block) return std::make_shared<DiagBlockAttention>(a, m, layer, device, dtype);
  if (a.kind == AttentionKind::hedgehog_window) return std::make_shared<HedgehogWindowAttention>(a, m, device, dtype);
  if (a.kind == AttentionKind::kda) return std::make_shared<KdaAttention>(a, m, device, dtype);
  if (a.kind == AttentionKind::mla) return std::make_shared<MlaAttention>(a, m, device, dtype);
  // check_buildable (train/model_builder.h) refuses these first, naming the recipe key.
  throw ConfigError(str_cat("make_token_mixer: attention kind ", int(a.kind), " is not implemented yet"));
}

void ChannelMixer::report(const std::string&, std::vector<std::pair<std::string, Variable>>&,
                          std::vector<std::pair<std::string, double>>&) const {}

std::shared_ptr<ChannelMixer> make_channel_mixer(const FfnConfig& f, const ModelConfig& m, HfLayout layout,
                                                 double dropout, Device device, DType dtype) {
  switch (f.kind) {
    case FfnKind::swiglu: return std::make_shared<GLU>(m.hidden, f.hidden, Activation::silu, f.bias, dropout, device, dtype);
    case FfnKind::geglu:
      // BERT keeps MosaicBERT's fused gated_layers; Llama-style models Gemma's three projections.
      if (layout == HfLayout::bert) return std::make_shared<GeGLU>(m.hidden, f.hidden, dropout, device, dtype);
      return std::make_shared<GLU>(m.hidden, f.hidden, Activation::gelu, f.bias, dropout, device, dtype);
    case FfnKind::sglu: return std::make_shared<GLU>(m.hidden, f.hidden, Activation::none, f.bias, dropout, device, dtype);
    case FfnKind::glu: return std::make_shared<GLU>(m.hidden, f.hidden, f.activation, f.bias, dropout, device, dtype);
    case FfnKind::moe: return std::make_shared<Moe>(f.moe, m.hidden, f.hidden, device, dtype);
    case FfnKind::mlp: break;
  }
  // check_buildable refuses these first, naming the recipe key.
  throw ConfigError(str_cat("make_channel_mixer: ffn kind ", int(f.kind), " is not implemented yet"));
}

}  // namespace linea
