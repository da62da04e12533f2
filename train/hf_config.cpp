#include "train/hf_config.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "core/error.h"

namespace linea {
namespace {

using nlohmann::json;

// One config.json with located errors and a record of the defaults taken.
class ConfigJson {
 public:
  ConfigJson(std::string file, json j, std::vector<std::string>* defaulted, std::string prefix = "")
      : file_(std::move(file)), j_(std::move(j)), defaulted_(defaulted), prefix_(std::move(prefix)) {}

  bool has(const char* key) const { return j_.contains(key) && !j_[key].is_null(); }
  const json& at(const char* key) const { return j_[key]; }
  // The map under `key`, its keys named "key.sub" in errors.
  ConfigJson object(const char* key) const {
    if (!has(key) || !j_[key].is_object()) fail(key, has(key) ? str_cat(j_[key].dump(), ", expected a map") : "missing, expected a map");
    return ConfigJson(file_, j_[key], defaulted_, str_cat(prefix_, key, "."));
  }
  // A list of integers.
  std::vector<int64_t> integers(const char* key) const {
    if (!has(key) || !j_[key].is_array()) fail(key, has(key) ? str_cat(j_[key].dump(), ", expected a list of integers") : "missing, expected a list of integers");
    std::vector<int64_t> out;
    for (const json& v : j_[key]) {
      if (!v.is_number_integer()) fail(key, str_cat(j_[key].dump(), ", expected a list of integers"));
      out.push_back(v.get<int64_t>());
    }
    return out;
  }

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw ConfigError(str_cat(file_, ": ", prefix_, key, ": ", what));
  }

  int64_t integer(const char* key) const {
    if (!has(key)) fail(key, "missing, expected an integer");
    if (!j_[key].is_number_integer()) fail(key, str_cat(j_[key].dump(), ", expected an integer"));
    return j_[key].get<int64_t>();
  }
  double number(const char* key) const {
    if (!has(key)) fail(key, "missing, expected a number");
    if (!j_[key].is_number()) fail(key, str_cat(j_[key].dump(), ", expected a number"));
    return j_[key].get<double>();
  }
  bool boolean(const char* key) const {
    if (!j_[key].is_boolean()) fail(key, str_cat(j_[key].dump(), ", expected true or false"));
    return j_[key].get<bool>();
  }
  std::string string(const char* key) const {
    if (!has(key)) fail(key, "missing, expected a string");
    if (!j_[key].is_string()) fail(key, str_cat(j_[key].dump(), ", expected a string"));
    return j_[key].get<std::string>();
  }
  // The key's value, or Hugging Face's class default (recorded) when it is absent.
  int64_t integer_or(const char* key, int64_t fallback) const {
    if (has(key)) return integer(key);
    defaulted_->push_back(str_cat(prefix_, key, " = ", fallback));
    return fallback;
  }
  double number_or(const char* key, double fallback) const {
    if (has(key)) return number(key);
    defaulted_->push_back(str_cat(prefix_, key, " = ", fallback));
    return fallback;
  }
  bool boolean_or(const char* key, bool fallback) const {
    if (has(key)) return boolean(key);
    defaulted_->push_back(str_cat(prefix_, key, " = ", fallback ? "true" : "false"));
    return fallback;
  }
  std::string string_or(const char* key, const std::string& fallback) const {
    if (has(key)) return string(key);
    defaulted_->push_back(str_cat(prefix_, key, " = ", fallback));
    return fallback;
  }
  // A key that must be absent or equal `expected` (what linea implements).
  void require_absent_or(const char* key, const json& expected, const std::string& why) const {
    if (has(key) && j_[key] != expected) fail(key, str_cat(j_[key].dump(), ", expected ", expected.dump(), " (", why, ")"));
  }
  // bos/eos ids: an integer, or -1 when absent or a list (instruct models list several eos ids).
  int64_t token_id(const char* key) const { return has(key) && j_[key].is_number_integer() ? j_[key].get<int64_t>() : -1; }

 private:
  std::string file_;
  json j_;
  std::vector<std::string>* defaulted_;
  std::string prefix_;  // "outer." for a nested map's keys
};

json read_json(const std::string& file) {
  std::ifstream in(file);
  if (!in) throw ConfigError(str_cat(file, ": cannot read it (a Hugging Face model folder holds config.json)"));
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw ConfigError(str_cat(file, ": not a JSON object"));
  return j;
}

void read_llama(const ConfigJson& c, HfArchitecture& a) {
  ModelConfig& m = a.model;
  m.kind = ModelKind::decoder;
  m.hidden = c.integer("hidden_size");
  m.layers = c.integer("num_hidden_layers");
  m.heads = c.integer("num_attention_heads");
  m.kv_heads = c.integer_or("num_key_value_heads", m.heads);
  m.vocab_size = c.integer("vocab_size");
  if (m.hidden <= 0 || m.heads <= 0 || m.hidden % m.heads != 0)
    c.fail("num_attention_heads", str_cat(m.heads, " does not divide hidden_size ", m.hidden));
  if (m.kv_heads <= 0 || m.heads % m.kv_heads != 0)
    c.fail("num_key_value_heads", str_cat(m.kv_heads, " does not divide num_attention_heads ", m.heads));
  // linea derives the head width from hidden / heads; checkpoints with another head_dim
  // (Gemma-style projections) would need separate projection widths.
  if (c.has("head_dim") && c.integer("head_dim") != m.hidden / m.heads)
    c.fail("head_dim", str_cat(c.integer("head_dim"), ", expected hidden_size / num_attention_heads = ",
                               m.hidden / m.heads, " (linea derives the head width)"));
  m.ffn.kind = FfnKind::swiglu;
  m.ffn.hidden = c.integer("intermediate_size");
  m.ffn.activation = Activation::silu;
  c.require_absent_or("hidden_act", "silu", "the SwiGLU gate linea implements");
  c.require_absent_or("attention_bias", false, "linea's Llama projections have no biases");
  c.require_absent_or("mlp_bias", false, "linea's Llama projections have no biases");
  m.norm.kind = NormKind::rmsnorm;
  m.norm.eps = c.number("rms_norm_eps");
  m.norm.position = NormPosition::pre;
  m.attention.kind = AttentionKind::softmax;
  m.attention.positions = PositionKind::rope;
  m.attention.rope_theta = c.number_or("rope_theta", 10000.0);
  if (c.has("rope_scaling")) {
    const json& s = c.at("rope_scaling");
    if (!s.is_object()) c.fail("rope_scaling", str_cat(s.dump(), ", expected null or a map"));
    // Older configs spell rope_type `type`.
    const json type = s.contains("rope_type") ? s["rope_type"] : s.value("type", json("(none)"));
    if (type != "llama3")
      c.fail("rope_scaling.rope_type", str_cat(type.dump(), " is not supported, expected \"llama3\" (or no rope_scaling)"));
    RopeScalingConfig r;
    auto field = [&](const char* key) {
      if (!s.contains(key) || !s[key].is_number()) c.fail(str_cat("rope_scaling.", key), "missing, expected a number");
      return s[key].get<double>();
    };
    r.factor = field("factor");
    r.low_freq_factor = field("low_freq_factor");
    r.high_freq_factor = field("high_freq_factor");
    const double n = field("original_max_position_embeddings");
    r.original_max_position_embeddings = int64_t(n);
    m.attention.rope_scaling = r;
  }
  m.tie_embeddings = c.boolean_or("tie_word_embeddings", false);
  m.max_seq_len = c.integer_or("max_position_embeddings", 2048);
  m.init_std = c.number_or("initializer_range", 0.02);
  m.scale_embeddings = false;
  if (a.family == HfFamily::mistral && c.has("sliding_window")) m.attention.window = c.integer("sliding_window");
}

void read_transnormer(const ConfigJson& c, HfArchitecture& a) {
  ModelConfig& m = a.model;
  m.kind = ModelKind::decoder;
  m.hidden = c.integer("decoder_embed_dim");
  m.layers = c.integer("decoder_layers");
  m.heads = c.integer("decoder_attention_heads");
  m.kv_heads = m.heads;
  m.vocab_size = c.integer("vocab_size");
  if (m.hidden <= 0 || m.heads <= 0 || m.hidden % m.heads != 0)
    c.fail("decoder_attention_heads", str_cat(m.heads, " does not divide decoder_embed_dim ", m.hidden));
  // hidden_dim is the token mixer's inner width (TransnormerConfig's default 1024); linea's
  // lightning mixer keeps the model width, which every released config uses.
  const int64_t inner = c.integer_or("hidden_dim", 1024);
  if (inner != m.hidden) c.fail("hidden_dim", str_cat(inner, ", expected decoder_embed_dim ", m.hidden));
  c.require_absent_or("bias", false, "the released TransNormerLLM projections have no biases");
  const std::string norm = c.string_or("norm_type", "simplermsnorm");
  if (norm != "simplermsnorm") c.fail("norm_type", str_cat("'", norm, "' is not supported, expected simplermsnorm"));
  // SimpleRMSNorm's eps is a constant of the release (1e-6), not a config field.
  m.norm = NormConfig{NormKind::simple_rmsnorm, 1e-6, NormPosition::pre};
  m.ffn.kind = FfnKind::sglu;
  m.ffn.hidden = c.integer("glu_dim");
  if (m.ffn.hidden == -1) m.ffn.hidden = m.hidden;  // the release's spelling of "as wide as the model"
  m.attention.kind = AttentionKind::lightning;
  m.attention.positions = PositionKind::none;
  const std::string act = c.string_or("linear_act_fun", "silu");
  if (act == "silu" || act == "swish")
    m.attention.feature_map = Activation::silu;
  else if (act == "none")
    m.attention.feature_map = Activation::none;
  else
    c.fail("linear_act_fun", str_cat("'", act, "' is not supported, expected silu, swish or none"));
  m.scale_embeddings = !c.boolean_or("no_scale_embedding", false);
  // The release's head is an nn.Linear that Hugging Face ties to the embedding unless the
  // config says otherwise (PretrainedConfig's default).
  m.tie_embeddings = c.boolean_or("tie_word_embeddings", true);
  m.init_std = c.number_or("init_std", 0.02);
  m.max_seq_len = 8192;  // linear attention has no position table; linea's limit on one sequence
  // LRPE on the layers the list marks: consecutive layers with the same flag form a group.
  std::vector<int64_t> lrpe(size_t(m.layers), 0);
  if (c.has("linear_use_lrpe_list")) {
    const json& l = c.at("linear_use_lrpe_list");
    if (!l.is_array() || (!l.empty() && int64_t(l.size()) != m.layers))
      c.fail("linear_use_lrpe_list", str_cat(l.dump(), ", expected a list of ", m.layers, " flags (0 or 1) or []"));
    for (size_t i = 0; i < l.size(); ++i) {
      if (!l[i].is_number_integer() || (l[i] != 0 && l[i] != 1))
        c.fail("linear_use_lrpe_list", str_cat("entry ", i, " is ", l[i].dump(), ", expected 0 or 1"));
      lrpe[i] = l[i].get<int64_t>();
    }
  }
  for (int64_t i = 0; i < m.layers;) {
    int64_t j = i;
    while (j < m.layers && lrpe[size_t(j)] == lrpe[size_t(i)]) ++j;
    LayerGroup g;
    g.layers = j - i;
    g.attention = m.attention;
    g.attention.positions = lrpe[size_t(i)] ? PositionKind::lrpe : PositionKind::none;
    g.ffn = m.ffn;
    m.layout.push_back(g);
    i = j;
  }
  if (m.layout.size() == 1) m.layout.clear();
  if (m.layout.empty() && m.layers > 0 && lrpe[0]) m.attention.positions = PositionKind::lrpe;
}

// Kimi Linear (KimiLinearConfig): KDA on linear_attn_config.kda_layers and NoPE MLA on
// full_attn_layers (1-based lists that together hold every layer once), a dense SwiGLU on the
// first first_k_dense_replace layers and MoE after them (none without num_experts). Consecutive
// layers of one kind form a layout group.
void read_kimi(const ConfigJson& c, HfArchitecture& a) {
  ModelConfig& m = a.model;
  m.kind = ModelKind::decoder;
  m.hidden = c.integer("hidden_size");
  m.layers = c.integer("num_hidden_layers");
  m.heads = c.integer("num_attention_heads");
  m.kv_heads = m.heads;  // MLA's keys come from the latent; num_key_value_heads plays no part
  m.vocab_size = c.integer("vocab_size");
  if (m.hidden <= 0 || m.heads <= 0 || m.layers <= 0) c.fail("hidden_size", "hidden_size, num_attention_heads and num_hidden_layers must be positive");
  c.require_absent_or("hidden_act", "silu", "the SwiGLU experts linea implements");
  c.require_absent_or("q_lora_rank", nullptr, "linea's MLA has no q compression, as Kimi Linear's release");
  c.require_absent_or("moe_router_activation_func", "sigmoid", "linea's router scores with a sigmoid");
  c.require_absent_or("moe_layer_freq", 1, "linea's MoE layers follow the dense ones without gaps");
  c.require_absent_or("num_nextn_predict_layers", 0, "linea has no multi-token prediction layers");
  m.norm = NormConfig{NormKind::rmsnorm, c.number("rms_norm_eps"), NormPosition::pre};
  m.tie_embeddings = c.boolean_or("tie_word_embeddings", false);
  m.init_std = c.number_or("initializer_range", 0.02);
  m.max_seq_len = c.integer_or("model_max_length", 1048576);
  m.scale_embeddings = false;

  auto positive = [](const ConfigJson& where, const char* key) {
    const int64_t v = where.integer(key);
    if (v <= 0) where.fail(key, str_cat(v, ", expected a positive integer"));
    return v;
  };
  const ConfigJson lin = c.object("linear_attn_config");
  AttentionConfig kda;
  kda.kind = AttentionKind::kda;
  kda.positions = PositionKind::none;
  if (lin.integer("num_heads") != m.heads)
    lin.fail("num_heads", str_cat(lin.integer("num_heads"), ", expected num_attention_heads ", m.heads,
                                  " (linea's KDA and MLA layers share the model's head count)"));
  kda.kda.head_dim = positive(lin, "head_dim");
  kda.kda.value_dim = kda.kda.head_dim;
  kda.kda.gate_rank = kda.kda.head_dim;  // the release's f_a/g_a projections have head_dim rows
  kda.kda.conv_size = positive(lin, "short_conv_kernel_size");
  AttentionConfig mla;
  mla.kind = AttentionKind::mla;
  mla.positions = PositionKind::none;
  mla.mla.kv_lora_rank = positive(c, "kv_lora_rank");
  mla.mla.nope_head_dim = positive(c, "qk_nope_head_dim");
  mla.mla.rope_head_dim = positive(c, "qk_rope_head_dim");
  mla.mla.v_head_dim = positive(c, "v_head_dim");

  std::vector<const AttentionConfig*> mixer(size_t(m.layers), nullptr);
  auto place = [&](const ConfigJson& where, const char* key, const AttentionConfig* kind) {
    for (int64_t one_based : where.integers(key)) {
      if (one_based < 1 || one_based > m.layers)
        where.fail(key, str_cat("layer ", one_based, " outside 1..", m.layers, " (the lists count layers from 1)"));
      if (mixer[size_t(one_based - 1)]) where.fail(key, str_cat("layer ", one_based, " is listed twice"));
      mixer[size_t(one_based - 1)] = kind;
    }
  };
  place(lin, "kda_layers", &kda);
  place(lin, "full_attn_layers", &mla);
  for (int64_t i = 0; i < m.layers; ++i)
    if (!mixer[size_t(i)]) lin.fail("kda_layers", str_cat("layer ", i + 1, " is in neither kda_layers nor full_attn_layers"));
  // KimiLinearConfig defaults mla_use_nope to false, a variant its own modeling code refuses.
  if (std::find(mixer.begin(), mixer.end(), &mla) != mixer.end() && (!c.has("mla_use_nope") || !c.boolean("mla_use_nope")))
    c.fail("mla_use_nope", str_cat(c.has("mla_use_nope") ? "false" : "missing", ", expected true (linea's MLA is NoPE, as the release's)"));

  FfnConfig moe;
  int64_t dense_layers = m.layers;
  if (c.has("num_experts")) {
    dense_layers = std::min(c.integer_or("first_k_dense_replace", 0), m.layers);
    moe.kind = FfnKind::moe;
    moe.hidden = positive(c, "moe_intermediate_size");
    moe.moe.experts = positive(c, "num_experts");
    moe.moe.top_k = positive(c, "num_experts_per_token");
    if (moe.moe.top_k > moe.moe.experts)
      c.fail("num_experts_per_token", str_cat(moe.moe.top_k, ", expected at most num_experts ", moe.moe.experts));
    moe.moe.shared_experts = c.integer_or("num_shared_experts", 0);
    moe.moe.routed_scaling = c.number_or("routed_scaling_factor", 1.0);
    // The release renormalizes the chosen scores only when it picks more than one expert.
    moe.moe.renormalize = c.boolean_or("moe_renormalize", true) && moe.moe.top_k > 1;
    if (c.boolean_or("use_grouped_topk", true)) {
      c.require_absent_or("num_expert_group", 1, "linea's router picks from one group of experts");
      c.require_absent_or("topk_group", 1, "linea's router picks from one group of experts");
    }
  }
  FfnConfig dense;
  dense.kind = FfnKind::swiglu;
  if (dense_layers > 0) dense.hidden = positive(c, "intermediate_size");
  m.attention = *mixer[0];
  m.ffn = dense_layers > 0 ? dense : moe;
  for (int64_t i = 0; i < m.layers; ++i) {
    const AttentionConfig& att = *mixer[size_t(i)];
    const FfnConfig& ffn = i < dense_layers ? dense : moe;
    if (!m.layout.empty() && m.layout.back().attention.kind == att.kind && m.layout.back().ffn.kind == ffn.kind) {
      ++m.layout.back().layers;
      continue;
    }
    LayerGroup g;
    g.layers = 1;
    g.attention = att;
    g.ffn = ffn;
    m.layout.push_back(g);
  }
  if (m.layout.size() == 1) m.layout.clear();
}

// What keeps `m` from being a checkpoint of its family; "" when nothing does.
std::string llama_mismatch(const ModelConfig& m, const std::vector<LayerSpec>& specs) {
  if (m.norm.kind != NormKind::rmsnorm || m.norm.position != NormPosition::pre) return "norm: expected pre rmsnorm";
  if (m.scale_embeddings) return "scale_embeddings: expected false";
  for (size_t i = 0; i < specs.size(); ++i) {
    const LayerSpec& s = specs[i];
    const std::string at = str_cat("layer ", i, ": ");
    if (s.attention.kind != AttentionKind::softmax) return at + "attention.kind: expected softmax";
    if (s.attention.positions != PositionKind::rope) return at + "attention.positions: expected rope";
    if (s.attention.rope_theta != specs[0].attention.rope_theta || s.attention.window != specs[0].attention.window ||
        s.attention.rope_scaling.has_value() != specs[0].attention.rope_scaling.has_value())
      return at + "attention differs from layer 0's (a Hugging Face config has one per model)";
    if (s.ffn.kind != FfnKind::swiglu || s.ffn.bias || s.ffn.hidden != specs[0].ffn.hidden)
      return at + "ffn: expected swiglu without bias, as wide as layer 0's";
  }
  return "";
}

std::string transnormer_mismatch(const ModelConfig& m, const std::vector<LayerSpec>& specs) {
  if (m.norm.kind != NormKind::simple_rmsnorm || m.norm.position != NormPosition::pre || m.norm.eps != 1e-6)
    return "norm: expected pre simple_rmsnorm with eps 1e-6 (the release's constant)";
  if (m.kv_heads != m.heads) return "kv_heads: expected heads";
  for (size_t i = 0; i < specs.size(); ++i) {
    const LayerSpec& s = specs[i];
    const std::string at = str_cat("layer ", i, ": ");
    if (s.attention.positions != PositionKind::none && s.attention.positions != PositionKind::lrpe)
      return at + "attention.positions: expected none or lrpe";
    if (s.attention.feature_map != specs[0].attention.feature_map ||
        (s.attention.feature_map != Activation::silu && s.attention.feature_map != Activation::none))
      return at + "attention.feature_map: expected silu or none, the same in every layer";
    if (s.ffn.kind != FfnKind::sglu || s.ffn.bias || s.ffn.hidden != specs[0].ffn.hidden)
      return at + "ffn: expected sglu without bias, as wide as layer 0's";
  }
  return "";
}

// The first layer of each kind in a Kimi Linear layout, whose settings config.json records
// once for all layers of that kind; null where the model has none.
struct KimiLayers {
  const LayerSpec *kda = nullptr, *mla = nullptr, *dense = nullptr, *moe = nullptr;
  size_t first_moe = SIZE_MAX;  // index of the first MoE layer
  int64_t dense_layers = 0;     // layers whose channel mixer is not MoE
};

KimiLayers kimi_layers(const std::vector<LayerSpec>& specs) {
  KimiLayers k;
  for (size_t i = 0; i < specs.size(); ++i) {
    const LayerSpec& s = specs[i];
    const LayerSpec*& mixer = s.attention.kind == AttentionKind::kda ? k.kda : k.mla;
    if (!mixer) mixer = &s;
    if (s.ffn.kind == FfnKind::moe) {
      if (!k.moe) {
        k.moe = &s;
        k.first_moe = i;
      }
    } else {
      ++k.dense_layers;
      if (!k.dense) k.dense = &s;
    }
  }
  return k;
}

// What keeps `m` from being a Kimi Linear checkpoint: KimiLinearConfig has one KDA and one
// MLA configuration, one dense width for the first layers and one MoE after them.
std::string kimi_mismatch(const ModelConfig& m, const std::vector<LayerSpec>& specs) {
  if (m.norm.kind != NormKind::rmsnorm || m.norm.position != NormPosition::pre) return "norm: expected pre rmsnorm";
  if (m.scale_embeddings || m.absolute_positions != AbsolutePositions::none)
    return "expected no embedding scaling and no absolute positions";
  const KimiLayers first = kimi_layers(specs);
  for (size_t i = 0; i < specs.size(); ++i) {
    const LayerSpec& s = specs[i];
    const std::string at = str_cat("layer ", i, ": ");
    const AttentionConfig& a = s.attention;
    if (a.positions != PositionKind::none) return at + "attention.positions: expected none (Kimi Linear is NoPE)";
    if (a.kind == AttentionKind::kda) {
      const KdaConfig& k = a.kda;
      const int64_t K = k.head_dim > 0 ? k.head_dim : m.head_dim();
      if (k.decay != KdaDecay::per_channel || !k.delta_rule || k.gate_lower_bound != 0 ||
          k.output_gate.rank != OutputGateRank::low || k.output_gate.act != OutputGateActivation::sigmoid || k.conv_size <= 0)
        return at + "kda: expected the release's options (per-channel decay, delta rule, unbounded gate, low-rank "
                    "sigmoid output gate, a short conv)";
      if ((k.value_dim > 0 && k.value_dim != K) || (k.value_heads > 0 && k.value_heads != m.heads) ||
          (k.gate_rank > 0 && k.gate_rank != (k.value_dim > 0 ? k.value_dim : K)))
        return at + "kda: expected value_dim and gate_rank equal to head_dim and one value head per head";
      const KdaConfig& f = first.kda->attention.kda;
      if (k.head_dim != f.head_dim || k.conv_size != f.conv_size)
        return at + "kda differs from the first kda layer's (linear_attn_config has one)";
    } else if (a.kind == AttentionKind::mla) {
      const MlaConfig &x = a.mla, &y = first.mla->attention.mla;
      if (x.kv_lora_rank != y.kv_lora_rank || x.nope_head_dim != y.nope_head_dim || x.rope_head_dim != y.rope_head_dim ||
          x.v_head_dim != y.v_head_dim)
        return at + "mla differs from the first mla layer's (config.json has one)";
    } else {
      return at + "attention.kind: expected kda or mla";
    }
    const FfnConfig& f = s.ffn;
    if (f.kind == FfnKind::swiglu && !f.bias) {
      if (i > first.first_moe) return at + "ffn: a dense layer after a MoE layer (Kimi Linear's dense layers come first)";
      if (f.hidden != first.dense->ffn.hidden) return at + "ffn: a dense width other than layer 0's";
    } else if (f.kind == FfnKind::moe) {
      const FfnConfig& g = first.moe->ffn;
      if (f.hidden != g.hidden || f.moe.experts != g.moe.experts || f.moe.top_k != g.moe.top_k ||
          f.moe.shared_experts != g.moe.shared_experts || f.moe.routed_scaling != g.moe.routed_scaling ||
          f.moe.renormalize != g.moe.renormalize)
        return at + "ffn: moe differs from the first moe layer's (config.json has one)";
      if (f.moe.top_k == 1 && f.moe.renormalize)
        return at + "ffn: moe renormalizes a single expert's score (the release renormalizes only with top_k > 1)";
    } else {
      return at + "ffn: expected swiglu without bias or moe";
    }
  }
  if (!first.kda) return "no kda layer (linear_attn_config needs its sizes)";
  if (!first.mla) return "no mla layer (config.json needs its sizes)";
  return "";
}

}  // namespace

const char* to_string(HfFamily f) {
  switch (f) {
    case HfFamily::llama: return "llama";
    case HfFamily::mistral: return "mistral";
    case HfFamily::transnormer: return "transnormer";
    case HfFamily::kimi_linear: return "kimi_linear";
  }
  return "?";
}

HfArchitecture read_hf_config(const std::string& folder) {
  const std::string file = (std::filesystem::path(folder) / "config.json").string();
  HfArchitecture a;
  const ConfigJson c(file, read_json(file), &a.defaulted);
  const std::string type = c.string("model_type");
  if (type == "llama")
    a.family = HfFamily::llama;
  else if (type == "mistral")
    a.family = HfFamily::mistral;
  else if (type == "transnormer")
    a.family = HfFamily::transnormer;
  else if (type == "kimi_linear")
    a.family = HfFamily::kimi_linear;
  else
    c.fail("model_type", str_cat("'", type, "' is not supported, expected llama, mistral, transnormer or kimi_linear"));
  if (a.family == HfFamily::transnormer)
    read_transnormer(c, a);
  else if (a.family == HfFamily::kimi_linear)
    read_kimi(c, a);
  else
    read_llama(c, a);
  a.bos_token_id = c.token_id("bos_token_id");
  a.eos_token_id = c.token_id("eos_token_id");
  return a;
}

HfFamily hf_family_of(const ModelConfig& m) {
  LINEA_CHECK_T(ConfigError, m.kind == ModelKind::decoder, "export: model.kind: encoder has no Hugging Face ",
                "family linea exports (expected a decoder)");
  const std::vector<LayerSpec> specs = layer_specs(m);
  LINEA_CHECK_T(ConfigError, !specs.empty(), "export: the model has no layers");
  for (const LayerSpec& s : specs)
    if (s.attention.kind == AttentionKind::kda || s.attention.kind == AttentionKind::mla) {
      const std::string why = kimi_mismatch(m, specs);
      LINEA_CHECK_T(ConfigError, why.empty(), "export: not a Kimi Linear checkpoint: ", why);
      return HfFamily::kimi_linear;
    }
  if (specs[0].attention.kind == AttentionKind::lightning) {
    const std::string why = transnormer_mismatch(m, specs);
    LINEA_CHECK_T(ConfigError, why.empty(), "export: not a TransNormerLLM checkpoint: ", why);
    return HfFamily::transnormer;
  }
  const std::string why = llama_mismatch(m, specs);
  LINEA_CHECK_T(ConfigError, why.empty(), "export: not a Llama or Mistral checkpoint: ", why);
  return specs[0].attention.window > 0 ? HfFamily::mistral : HfFamily::llama;
}

std::string hf_config_json(const ModelConfig& m, HfFamily family, DType dtype, int64_t bos_token_id,
                           int64_t eos_token_id) {
  const std::vector<LayerSpec> specs = layer_specs(m);
  const char* torch_dtype = dtype == DType::bf16 ? "bfloat16" : dtype == DType::f16 ? "float16" : "float32";
  json j;
  auto token_ids = [&] {
    if (bos_token_id >= 0) j["bos_token_id"] = bos_token_id;
    if (eos_token_id >= 0) j["eos_token_id"] = eos_token_id;
  };
  if (family == HfFamily::transnormer) {
    json lrpe = json::array();
    for (const LayerSpec& s : specs) lrpe.push_back(s.attention.positions == PositionKind::lrpe ? 1 : 0);
    j = {{"architectures", {"TransnormerForCausalLM"}},
         {"model_type", "transnormer"},
         {"decoder_embed_dim", m.hidden},
         {"hidden_dim", m.hidden},
         {"decoder_layers", m.layers},
         {"decoder_attention_heads", m.heads},
         {"glu_dim", specs[0].ffn.hidden},
         {"vocab_size", m.vocab_size},
         {"linear_use_lrpe_list", lrpe},
         {"no_scale_embedding", !m.scale_embeddings},
         {"linear_act_fun", specs[0].attention.feature_map == Activation::silu ? "silu" : "none"},
         {"norm_type", "simplermsnorm"},
         {"bias", false},
         {"init_std", m.init_std},
         {"tie_word_embeddings", m.tie_embeddings},
         {"torch_dtype", torch_dtype}};
    token_ids();
    return j.dump(2) + "\n";
  }
  if (family == HfFamily::kimi_linear) {
    json kda_layers = json::array(), mla_layers = json::array();
    for (size_t i = 0; i < specs.size(); ++i)  // the release counts layers from 1
      (specs[i].attention.kind == AttentionKind::kda ? kda_layers : mla_layers).push_back(int64_t(i) + 1);
    const KimiLayers layers = kimi_layers(specs);
    const LayerSpec *kda = layers.kda, *mla = layers.mla, *dense = layers.dense, *moe = layers.moe;
    const int64_t kda_head_dim = kda->attention.kda.head_dim > 0 ? kda->attention.kda.head_dim : m.head_dim();
    const MlaConfig& x = mla->attention.mla;
    j = {{"architectures", {"KimiLinearForCausalLM"}},
         {"model_type", "kimi_linear"},
         {"hidden_size", m.hidden},
         {"num_hidden_layers", m.layers},
         {"num_attention_heads", m.heads},
         {"num_key_value_heads", m.heads},
         {"vocab_size", m.vocab_size},
         {"intermediate_size", (dense ? dense : moe)->ffn.hidden},
         {"hidden_act", "silu"},
         {"rms_norm_eps", m.norm.eps},
         {"tie_word_embeddings", m.tie_embeddings},
         {"initializer_range", m.init_std},
         {"model_max_length", m.max_seq_len},
         {"q_lora_rank", nullptr},
         {"kv_lora_rank", x.kv_lora_rank},
         {"qk_nope_head_dim", x.nope_head_dim},
         {"qk_rope_head_dim", x.rope_head_dim},
         {"v_head_dim", x.v_head_dim},
         {"mla_use_nope", true},
         {"num_experts", nullptr},
         {"first_k_dense_replace", layers.dense_layers},
         {"moe_layer_freq", 1},
         {"num_nextn_predict_layers", 0},
         {"linear_attn_config",
          {{"kda_layers", kda_layers},
           {"full_attn_layers", mla_layers},
           {"num_heads", m.heads},
           {"head_dim", kda_head_dim},
           {"short_conv_kernel_size", kda->attention.kda.conv_size}}},
         {"torch_dtype", torch_dtype}};
    if (moe) {
      const MoeConfig& e = moe->ffn.moe;
      j["num_experts"] = e.experts;
      j["num_experts_per_token"] = e.top_k;
      j["num_shared_experts"] = e.shared_experts;
      j["moe_intermediate_size"] = moe->ffn.hidden;
      j["routed_scaling_factor"] = e.routed_scaling;
      j["moe_renormalize"] = e.renormalize;
      j["moe_router_activation_func"] = "sigmoid";
      j["use_grouped_topk"] = true;
      j["num_expert_group"] = 1;
      j["topk_group"] = 1;
    }
    token_ids();
    return j.dump(2) + "\n";
  }
  const AttentionConfig& att = specs[0].attention;
  const bool mistral = family == HfFamily::mistral;
  j = {{"architectures", {mistral ? "MistralForCausalLM" : "LlamaForCausalLM"}},
       {"model_type", mistral ? "mistral" : "llama"},
       {"hidden_size", m.hidden},
       {"intermediate_size", specs[0].ffn.hidden},
       {"num_hidden_layers", m.layers},
       {"num_attention_heads", m.heads},
       {"num_key_value_heads", m.kv_heads},
       {"head_dim", m.head_dim()},
       {"hidden_act", "silu"},
       {"rms_norm_eps", m.norm.eps},
       {"rope_theta", att.rope_theta},
       {"rope_scaling", nullptr},
       {"vocab_size", m.vocab_size},
       {"tie_word_embeddings", m.tie_embeddings},
       {"max_position_embeddings", m.max_seq_len},
       {"initializer_range", m.init_std},
       {"attention_bias", false},
       {"mlp_bias", false},
       {"torch_dtype", torch_dtype}};
  if (att.rope_scaling)
    j["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", att.rope_scaling->factor},
                         {"low_freq_factor", att.rope_scaling->low_freq_factor},
                         {"high_freq_factor", att.rope_scaling->high_freq_factor},
                         {"original_max_position_embeddings", att.rope_scaling->original_max_position_embeddings}};
  if (mistral) j["sliding_window"] = att.window;
  token_ids();
  return j.dump(2) + "\n";
}

HfTensor hf_tensor(HfFamily family, const std::string& name, const Shape& shape) {
  if (family == HfFamily::kimi_linear) {
    if (name == "lm_head.weight") return {name, shape};
    // MoE layers live under block_sparse_moe. (the routed experts' projections named w1 = gate,
    // w3 = up, w2 = down); dense layers under mlp.
    static const std::regex moe(R"(layers\.(\d+)\.mlp\.(gate\..+|shared_experts\..+|experts\.(\d+)\.(gate|up|down)_proj\.weight))");
    static const std::regex kda_taps(R"(layers\.\d+\.self_attn\.[qkv]_conv1d\.weight)");
    static const std::regex kda_rate(R"(layers\.\d+\.self_attn\.A_log)");
    std::smatch g;
    if (std::regex_match(name, g, moe)) {
      const std::string prefix = str_cat("model.layers.", g[1].str(), ".block_sparse_moe.");
      if (g[2] == "gate.e_score_correction_bias") return {prefix + g[2].str(), shape, true};
      if (!g[3].matched) return {prefix + g[2].str(), shape};
      static const std::map<std::string, std::string> kExpert = {{"gate", "w1"}, {"up", "w3"}, {"down", "w2"}};
      return {str_cat(prefix, "experts.", g[3].str(), ".", kExpert.at(g[4].str()), ".weight"), shape};
    }
    if (std::regex_match(name, kda_taps) && shape.size() == 2) return {"model." + name, {shape[0], 1, shape[1]}};
    if (std::regex_match(name, kda_rate) && shape.size() == 1) return {"model." + name, {1, 1, shape[0], 1}, true};
    static const std::regex kda_dt_bias(R"(layers\.\d+\.self_attn\.dt_bias)");
    return {"model." + name, shape, std::regex_match(name, kda_dt_bias)};
  }
  if (family != HfFamily::transnormer) return {name == "lm_head.weight" ? name : "model." + name, shape};
  static const std::regex layer(R"(layers\.(\d+)\.(self_attn|mlp)\.(\w+)(\.weight)?)");
  std::smatch g;
  if (std::regex_match(name, g, layer)) {
    const std::string prefix = str_cat("model.layers.", g[1].str(), ".");
    const std::string part = g[3].str();
    if (g[2] == "self_attn" && part == "lrpe_theta" && shape.size() == 2)
      return {prefix + "token_mixer.lrpe.theta", {shape[0], 1, shape[1]}};
    if (g[2] == "self_attn" && g[4].matched) return {prefix + "token_mixer." + part + ".weight", shape};
    static const std::map<std::string, std::string> kGlu = {{"gate_proj", "l1"}, {"up_proj", "l2"}, {"down_proj", "l3"}};
    auto it = kGlu.find(part);
    if (g[2] == "mlp" && it != kGlu.end() && g[4].matched) return {prefix + "channel_mixer." + it->second + ".weight", shape};
  }
  if (name == "embed_tokens.weight") return {"model.embed_tokens.weight", shape};
  if (name == "lm_head.weight") return {name, shape};
  throw ConfigError(str_cat("export: parameter ", name, " has no place in a TransNormerLLM checkpoint"));
}

bool hf_tensor_derived(HfFamily family, const std::string& hf_name) {
  static const std::regex inv_freq(R"(model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq)");
  return family != HfFamily::transnormer && std::regex_match(hf_name, inv_freq);
}

}  // namespace linea
