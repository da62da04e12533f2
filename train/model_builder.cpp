#include "train/model_builder.h"

namespace linea {
namespace {
template <class E>
void require(bool ok, const char* key, E got, const char* supported, const char* model = "decoder") {
  if (!ok)
    throw ConfigError(str_cat(key, ": ", to_string(got), " is not implemented by the ", model, " yet, expected ",
                              supported));
}
}  // namespace

DecoderOptions decoder_options(const ModelConfig& m) {
  require(m.kind == ModelKind::decoder, "model.kind", m.kind, "decoder");
  require(m.ffn.kind == FfnKind::swiglu, "model.ffn.kind", m.ffn.kind, "swiglu");
  require(m.norm.kind == NormKind::rmsnorm, "model.norm.kind", m.norm.kind, "rmsnorm");
  require(m.norm.position == NormPosition::pre, "model.norm.position", m.norm.position, "pre");
  require(m.attention.kind == AttentionKind::softmax, "model.attention.kind", m.attention.kind, "softmax");
  require(m.attention.positions == PositionKind::rope, "model.attention.positions", m.attention.positions, "rope");
  for (AttentionKind k : m.layer_pattern) require(k == AttentionKind::softmax, "model.layer_pattern", k, "softmax");

  DecoderOptions o;
  o.vocab = m.vocab_size;
  o.hidden = m.hidden;
  o.layers = m.layers;
  o.heads = m.heads;
  o.kv_heads = m.kv_heads;
  o.ffn_hidden = m.ffn.hidden;
  o.norm_eps = m.norm.eps;
  o.rope_theta = m.attention.rope_theta;
  if (m.attention.rope_scaling) {
    const RopeScalingConfig& r = *m.attention.rope_scaling;
    o.rope_scaling = kernels::RopeScaling{r.factor, r.low_freq_factor, r.high_freq_factor,
                                          double(r.original_max_position_embeddings)};
  }
  o.tie_embeddings = m.tie_embeddings;
  o.dropout = m.dropout;
  o.init_std = m.init_std;
  o.max_seq_len = m.max_seq_len;
  o.window = m.attention.window;
  return o;
}

EncoderOptions encoder_options(const ModelConfig& m) {
  require(m.kind == ModelKind::encoder, "model.kind", m.kind, "encoder", "encoder");
  require(m.ffn.kind == FfnKind::geglu, "model.ffn.kind", m.ffn.kind, "geglu", "encoder");
  require(m.norm.kind == NormKind::layernorm, "model.norm.kind", m.norm.kind, "layernorm", "encoder");
  require(m.norm.position == NormPosition::post, "model.norm.position", m.norm.position, "post", "encoder");
  require(m.attention.kind == AttentionKind::softmax, "model.attention.kind", m.attention.kind, "softmax", "encoder");
  require(m.attention.positions == PositionKind::alibi, "model.attention.positions", m.attention.positions, "alibi",
          "encoder");
  for (AttentionKind k : m.layer_pattern) require(k == AttentionKind::softmax, "model.layer_pattern", k, "softmax", "encoder");
  LINEA_CHECK_T(ConfigError, m.attention.window == 0, "model.attention.window: ", m.attention.window,
                " is not implemented by the encoder, whose attention is bidirectional; expected 0");
  LINEA_CHECK_T(ConfigError, m.kv_heads == m.heads, "model.kv_heads: ", m.kv_heads,
                " differs from model.heads; the encoder has no grouped-query attention, expected ", m.heads);
  LINEA_CHECK_T(ConfigError, m.tie_embeddings, "model.tie_embeddings: false is not implemented by the encoder, "
                "whose MLM decoder is tied to the word embeddings as BERT's; expected true");
  EncoderOptions o;
  o.vocab = m.vocab_size;
  o.hidden = m.hidden;
  o.layers = m.layers;
  o.heads = m.heads;
  o.ffn_hidden = m.ffn.hidden;
  o.type_vocab = m.type_vocab_size;
  o.norm_eps = m.norm.eps;
  o.dropout = m.dropout;
  o.init_std = m.init_std;
  o.max_seq_len = m.max_seq_len;
  o.unpad = m.unpad;
  return o;
}

DecoderOptions decoder_options(const Config& c) {
  DecoderOptions o = decoder_options(c.model);
  o.recompute = c.train.recompute;
  return o;
}

EncoderOptions encoder_options(const Config& c) {
  EncoderOptions o = encoder_options(c.model);
  o.recompute = c.train.recompute;
  return o;
}

void check_objective_fits_model(const Config& c) {
  if (c.data.objective == Objective::classification) return;
  const bool encoder = c.model.kind == ModelKind::encoder, mlm = c.data.objective == Objective::mlm;
  LINEA_CHECK_T(ConfigError, encoder == mlm, "data.objective: ", to_string(c.data.objective),
                " does not go with model.kind ", to_string(c.model.kind), ", expected ",
                encoder ? "mlm for an encoder" : "causal for a decoder");
}

void check_buildable(const Config& c) {
  check_objective_fits_model(c);
  if (c.model.kind == ModelKind::encoder) encoder_options(c);
  else decoder_options(c);
}

}  // namespace linea
