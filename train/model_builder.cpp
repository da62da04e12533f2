#include "train/model_builder.h"

#include "core/error.h"

namespace linea {
namespace {

// One layer's mixers at `prefix` ("model", "model.layout[0].pattern[2]").
void check_layer_spec(const ModelConfig& m, const AttentionConfig& a, const FfnConfig& f, const std::string& prefix) {
  auto require = [&](bool ok, const std::string& key, const std::string& got, const std::string& expected) {
    LINEA_CHECK_T(ConfigError, ok, prefix, ".", key, ": ", got, " is not implemented", expected);
  };
  const bool decoder = m.kind == ModelKind::decoder;
  const bool lightning = a.kind == AttentionKind::lightning && decoder;
  const bool linear = lightning || a.kind == AttentionKind::norm_linear;
  const bool diag = a.kind == AttentionKind::diag_block;
  const bool hedgehog = a.kind == AttentionKind::hedgehog_window && decoder;
  const bool kda = a.kind == AttentionKind::kda && decoder;
  const bool mla = a.kind == AttentionKind::mla && decoder;
  require(a.kind == AttentionKind::softmax || linear || diag || hedgehog || kda || mla, "attention.kind",
          to_string(a.kind),
          str_cat(decoder ? "" : " by the encoder", " yet, expected softmax, norm_linear, diag_block",
                  decoder ? ", lightning, kda, mla or hedgehog_window" : ""));
  if (mla) {
    require(a.positions == PositionKind::none, "attention.positions", to_string(a.positions),
            " with mla attention (Kimi Linear's MLA is NoPE; the RoPE variant is not built), expected none");
    require(a.window == 0, "attention.window", std::to_string(a.window), " with mla attention, expected 0");
    for (const auto& [key, value] :
         {std::pair<const char*, int64_t>{"kv_lora_rank", a.mla.kv_lora_rank}, {"nope_head_dim", a.mla.nope_head_dim},
          {"rope_head_dim", a.mla.rope_head_dim}, {"v_head_dim", a.mla.v_head_dim}})
      require(value > 0, str_cat("attention.mla.", key), std::to_string(value), ", expected > 0");
    require(a.mla.qk_clip_tau >= 0, "attention.mla.qk_clip_tau", str_cat(a.mla.qk_clip_tau), ", expected >= 0 (0: off)");
  }
  if (kda) {
    const KdaConfig& k = a.kda;
    require(a.positions == PositionKind::none, "attention.positions", to_string(a.positions),
            " with kda attention (its short conv and decay carry order), expected none");
    require(a.window == 0, "attention.window", std::to_string(a.window), " with kda attention, expected 0");
    for (const auto& [key, value] : {std::pair<const char*, int64_t>{"head_dim", k.head_dim}, {"value_dim", k.value_dim},
                                     {"value_heads", k.value_heads}, {"gate_rank", k.gate_rank}})
      require(value >= 0, str_cat("attention.kda.", key), std::to_string(value), ", expected >= 0 (0: the default)");
    const int64_t value_heads = k.value_heads > 0 ? k.value_heads : m.heads;
    require(value_heads % m.heads == 0, "attention.kda.value_heads", std::to_string(value_heads),
            str_cat(", expected a multiple of heads (", m.heads, ")"));
    require(k.chunk == 16 || k.chunk == 32 || k.chunk == 64, "attention.kda.chunk", std::to_string(k.chunk),
            ", expected 16, 32 or 64");
    require(k.conv_size == 0 || k.conv_size >= 2, "attention.kda.conv_size", std::to_string(k.conv_size),
            ", expected 0 (no conv) or >= 2");
    require(k.gate_lower_bound == 0 || (k.gate_lower_bound >= -5 && k.gate_lower_bound < 0),
            "attention.kda.gate_lower_bound", str_cat(k.gate_lower_bound), ", expected 0 (off) or in [-5, 0)");
  }
  if (hedgehog) {
    require(a.positions == PositionKind::rope || a.positions == PositionKind::none, "attention.positions",
            to_string(a.positions), " with hedgehog_window attention, expected rope or none");
    require(a.feature_dim > 0, "attention.feature_dim", std::to_string(a.feature_dim), ", expected > 0");
  }
  if (linear || diag) {
    require(a.window == 0, "attention.window", std::to_string(a.window),
            str_cat(" with ", to_string(a.kind), " attention, expected 0"));
    const bool norm_linear = a.kind == AttentionKind::norm_linear;
    require(a.positions == PositionKind::none || (linear && a.positions == PositionKind::lrpe) ||
                ((norm_linear || diag) && a.positions == PositionKind::urpe),
            "attention.positions", to_string(a.positions),
            str_cat(" with ", to_string(a.kind), " attention, expected none",
                    lightning ? " or lrpe" : norm_linear ? ", lrpe or urpe" : " or urpe"));
    require(a.positions != PositionKind::urpe || m.head_dim() % 2 == 0, "attention.positions", "urpe",
            str_cat(" for an odd head_dim (hidden / heads = ", m.head_dim(), "), expected none"));
  }
  if (lightning)
    require(a.feature_map == Activation::silu || a.feature_map == Activation::none, "attention.feature_map",
            to_string(a.feature_map), ", expected silu (TNL's checkpoints) or none");
  if (a.kind == AttentionKind::norm_linear)
    require(a.feature_map == Activation::elu || a.feature_map == Activation::elu_plus_one ||
                a.feature_map == Activation::relu || a.feature_map == Activation::silu ||
                a.feature_map == Activation::none,
            "attention.feature_map", to_string(a.feature_map),
            " with norm_linear, expected elu (TransNormer T1), elu_plus_one (T2), relu, silu or none");
  if (diag) require(a.block > 0, "attention.block", std::to_string(a.block), " with diag_block, expected > 0");
  require(f.kind != FfnKind::mlp && (f.kind != FfnKind::moe || decoder), "ffn.kind", to_string(f.kind),
          str_cat(decoder ? " yet, expected swiglu, geglu, sglu, glu or moe"
                          : " by the encoder yet, expected swiglu, geglu, sglu or glu"));
  if (f.kind == FfnKind::moe) {
    const MoeConfig& e = f.moe;
    require(e.experts >= 1, "ffn.moe.experts", std::to_string(e.experts), ", expected >= 1");
    require(e.top_k >= 1 && e.top_k <= e.experts, "ffn.moe.top_k", std::to_string(e.top_k),
            str_cat(", expected 1 ..", e.experts, " (experts)"));
    require(e.shared_experts >= 0, "ffn.moe.shared_experts", std::to_string(e.shared_experts), ", expected >= 0");
    require(e.routed_scaling > 0, "ffn.moe.routed_scaling", str_cat(e.routed_scaling), ", expected > 0");
    require(e.bias_update_rate >= 0, "ffn.moe.bias_update_rate", str_cat(e.bias_update_rate), ", expected >= 0");
    require(e.aux_loss_alpha >= 0, "ffn.moe.aux_loss_alpha", str_cat(e.aux_loss_alpha), ", expected >= 0");
  }
  require(linear || diag || (a.positions != PositionKind::lrpe && a.positions != PositionKind::urpe),
          "attention.positions", to_string(a.positions),
          str_cat(" with ", to_string(a.kind), " attention, expected rope, alibi or none"));
  require(a.positions != PositionKind::rope || m.head_dim() % 2 == 0, "attention.positions", "rope",
          str_cat(" for an odd head_dim (hidden / heads = ", m.head_dim(), "), expected alibi or none"));
  if (m.kind != ModelKind::encoder) return;
  require(!f.bias || f.kind != FfnKind::geglu, "ffn.bias", "true",
          " by the encoder's geglu (MosaicBERT's fused gated_layers/wo keep their own biases), expected false");
  require(a.window == 0, "attention.window", std::to_string(a.window),
          " by the encoder, whose attention is bidirectional; expected 0");
  require(a.positions != PositionKind::rope, "attention.positions", "rope",
          " by the encoder (its packed rows carry no per-sequence positions), expected alibi or none");
}

}  // namespace

void check_objective_fits_model(const Config& c) {
  if (c.data.objective == Objective::classification) return;
  if (c.data.objective == Objective::attention_transfer) {
    bool hybrid = false;
    for (const LayerSpec& s : layer_specs(c.model)) hybrid = hybrid || s.attention.kind == AttentionKind::hedgehog_window;
    LINEA_CHECK_T(ConfigError, c.model.kind == ModelKind::decoder && hybrid, "data.objective: attention_transfer ",
                  "needs a decoder with hedgehog_window layers (the attention it teaches), got model.kind ",
                  to_string(c.model.kind), hybrid ? "" : " without hedgehog_window layers");
    return;
  }
  const bool encoder = c.model.kind == ModelKind::encoder, mlm = c.data.objective == Objective::mlm;
  LINEA_CHECK_T(ConfigError, encoder == mlm, "data.objective: ", to_string(c.data.objective),
                " does not go with model.kind ", to_string(c.model.kind), ", expected ",
                encoder ? "mlm for an encoder" : "causal for a decoder");
}

void check_buildable(const Config& c) {
  const ModelConfig& m = c.model;
  check_layer_spec(m, m.attention, m.ffn, "model");
  for (size_t i = 0; i < m.layer_pattern.size(); ++i) {
    AttentionConfig a = m.attention;
    a.kind = m.layer_pattern[i];
    check_layer_spec(m, a, m.ffn, str_cat("model.layer_pattern[", i, "] with model"));
  }
  for (size_t g = 0; g < m.layout.size(); ++g) {
    const std::string at = str_cat("model.layout[", g, "]");
    check_layer_spec(m, m.layout[g].attention, m.layout[g].ffn, at);
    for (size_t p = 0; p < m.layout[g].pattern.size(); ++p)
      check_layer_spec(m, m.layout[g].pattern[p].attention, m.layout[g].pattern[p].ffn, str_cat(at, ".pattern[", p, "]"));
  }
  if (m.kind == ModelKind::encoder) {
    LINEA_CHECK_T(ConfigError, m.kv_heads == m.heads, "model.kv_heads: ", m.kv_heads,
                  " differs from model.heads; the encoder's fused Wqkv has no grouped-query attention, expected ",
                  m.heads);
    LINEA_CHECK_T(ConfigError, m.absolute_positions == AbsolutePositions::none,
                  "model.absolute_positions: ", to_string(m.absolute_positions),
                  " is for decoders; the encoder has learned position embeddings");
    LINEA_CHECK_T(ConfigError, !m.scale_embeddings, "model.scale_embeddings: true is not implemented by the encoder, "
                  "expected false");
    LINEA_CHECK_T(ConfigError, m.tie_embeddings, "model.tie_embeddings: false is not implemented by the encoder, "
                  "whose MLM decoder is tied to the word embeddings as BERT's; expected true");
  }
  check_objective_fits_model(c);
}

}  // namespace linea
