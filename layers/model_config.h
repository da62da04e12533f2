// ModelConfig: the model section of a recipe, read straight from YAML by the schema visitors
// (configs/config_fields.h) and consumed as is by the layers: each token mixer kind takes
// its AttentionConfig, each channel mixer kind its FfnConfig, and a layout says which layer
// gets which. Range and consistency rules live in configs/config_validate.cpp (located
// errors); the layers assume a validated config and check only what would corrupt memory.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace linea {

enum class ModelKind : uint8_t { decoder, encoder };
enum class FfnKind : uint8_t { swiglu, geglu, sglu, glu, mlp, moe };
// The activation of the gated branch of ffn.kind glu (none: TransNormerLLM's SGLU).
// elu_plus_one: 1 + elu(x), TransNormer T2's kernel feature map.
enum class Activation : uint8_t { none, silu, gelu, gelu_tanh, relu, sigmoid, elu, elu_plus_one };
// diag_block's scores inside a block: softmax of q kᵀ / sqrt(d) (TransNormer T2) or relu of
// them followed by SimpleRMSNorm over the width (T1, ReLA-style).
enum class BlockScores : uint8_t { softmax, relu };
enum class NormKind : uint8_t { rmsnorm, layernorm, simple_rmsnorm };
enum class NormPosition : uint8_t { pre, post };
// Absolute positions added to a decoder's token embeddings: none (positions live in the token
// mixers: RoPE, ALiBi, LRPE, URPE, decay) or fairseq's sinusoids (TransNormer v1's LM).
enum class AbsolutePositions : uint8_t { none, sinusoidal };
enum class AttentionKind : uint8_t { softmax, mla, norm_linear, diag_block, lightning, kda, hedgehog_window };
// lrpe: TransNormerLLM's learnable relative positions (lightning, norm_linear); urpe: TransNormer
// v1's unitary relative positions (norm_linear, diag_block).
enum class PositionKind : uint8_t { rope, alibi, none, lrpe, urpe };
// hedgehog_window (specs/lolcats.md §1.4): terrace, the current and the previous block of
// `window` rows (blocks aligned to the sequence's end; LoLCATs' main results), or sliding, the
// `window` most recent keys.
enum class WindowLayout : uint8_t { terrace, sliding };
// hedgehog_window's feature maps per head: hedgehog [softmax(x W), softmax(-x W)] (2 x
// feature_dim features) or t2r relu(x W + b) (feature_dim features, one bias per head).
enum class FeatureMapKind : uint8_t { hedgehog, t2r };

// kda (specs/kimi_linear.md §1): one log decay per (value head, key channel), KDA, or one per
// value head, Gated DeltaNet (§1.3).
enum class KdaDecay : uint8_t { per_channel, per_head };
// kda's output gate (§1.2 step 9): low rank x W_g↓ W_g↑ (Kimi), full rank x W_g (the GDN
// baseline) or none; its activation sigmoid (Kimi, GDN-H) or swish (fla's GDN layer).
enum class OutputGateRank : uint8_t { low, full, none };
enum class OutputGateActivation : uint8_t { sigmoid, swish };

struct KdaOutputGate {
  OutputGateRank rank = OutputGateRank::low;
  OutputGateActivation act = OutputGateActivation::sigmoid;
};

// Kimi Delta Attention's options; the defaults are Kimi-Linear-48B's choices, and the sizes
// default to the model's (0: derived).
struct KdaConfig {
  int64_t head_dim = 0;     // K of q/k heads; 0: hidden / heads
  int64_t value_dim = 0;    // V of value heads; 0: head_dim
  int64_t value_heads = 0;  // HV, a multiple of heads (grouped value heads); 0: heads
  int64_t gate_rank = 0;    // rank r of the low-rank decay and output gates; 0: value_dim
  KdaDecay decay = KdaDecay::per_channel;
  bool delta_rule = true;   // false: gated linear attention (the "no delta rule" baseline)
  int64_t conv_size = 4;    // short causal conv on q, k, v; 0: none
  int64_t chunk = 64;       // rows per chunk of the chunkwise kernel: 16, 32 or 64
  // fla's lower-bound ("safe") gate, specs/kimi_linear.md §1.3: g = lb·sigmoid(e^A_log (a + dt_bias))
  // with lb in [-5, 0), so g in (lb, 0); A_log starts at 0. 0: Kimi-48B's unbounded gate
  // g = −e^A_log softplus(a + dt_bias).
  double gate_lower_bound = 0.0;
  KdaOutputGate output_gate;
};

// The moe channel mixer (specs/kimi_linear.md §4.2, DeepSeek-V3's router): a sigmoid router
// picks top_k of `experts` SwiGLU experts of width ffn.hidden by score + correction bias, their
// unbiased scores (renormalized to sum 1 when asked) times routed_scaling weight them, and
// `shared_experts` SwiGLUs of the same width (one merged SwiGLU) see every token.
struct MoeConfig {
  int64_t experts = 8;
  int64_t top_k = 2;
  int64_t shared_experts = 1;
  double routed_scaling = 1.0;  // Kimi-Linear-48B: 2.446
  bool renormalize = true;
  // Auxiliary-loss-free balancing: after each optimizer step every expert's correction bias
  // moves by this much towards balance, b_e += rate * sign(mean load - load_e); 0: off.
  double bias_update_rate = 1e-3;
  // Optional balance loss alpha * E * Σ_e f_e P_e over the micro-batch (f_e: share of the
  // assignments going to e; P_e: mean normalized score of e); 0: none.
  double aux_loss_alpha = 0.0;
};

// mla (specs/kimi_linear.md §3, Kimi Linear's Multi-head Latent Attention, NoPE): q = x W_q
// (no q compression), a latent c = RMSNorm(x W_kv_a[:rank]) and a key slot shared by the heads
// k_s = x W_kv_a[rank:], per-head [k_nope; v] = c W_kv_bᵀ, keys [k_nope; k_s]; causal softmax
// over head dims nope + rope for scores and v_head_dim for values. Defaults: Kimi-Linear-48B.
struct MlaConfig {
  int64_t kv_lora_rank = 512;
  int64_t nope_head_dim = 128;
  int64_t rope_head_dim = 64;  // the shared key slot (never rotated: NoPE)
  int64_t v_head_dim = 128;
  // QK-clip (Kimi K2's MuonClip): after each optimizer step, a head whose largest attention
  // logit in the step's training batches exceeded tau has its query and key weights scaled so
  // the logit would be tau (q_nope and k_nope by sqrt(γ), q's shared-slot part by γ,
  // γ = tau / max logit; the shared key slot untouched). 0: off.
  double qk_clip_tau = 0.0;
};

// The channel mixer of a layer.
struct FfnConfig {
  FfnKind kind = FfnKind::swiglu;
  int64_t hidden = 688;                     // inner width of the feed-forward block
  Activation activation = Activation::silu;  // glu only: act(gate_proj x) * up_proj x
  bool bias = false;  // Llama-layout GLU family: biases on the three projections (TransNormer v1)
  MoeConfig moe = {};  // moe only; each expert is a SwiGLU of width `hidden`
};

struct NormConfig {
  NormKind kind = NormKind::rmsnorm;
  double eps = 1e-5;
  NormPosition position = NormPosition::pre;  // pre-norm (Llama) or post-norm (original BERT)
};

// Llama-3 style RoPE frequency scaling; absent means plain RoPE.
struct RopeScalingConfig {
  double factor = 8.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

// The token mixer of a layer (its kind and that kind's options).
struct AttentionConfig {
  AttentionKind kind = AttentionKind::softmax;
  PositionKind positions = PositionKind::rope;
  double rope_theta = 10000.0;
  std::optional<RopeScalingConfig> rope_scaling;  // YAML: a map, or null / absent for none
  int64_t window = 0;  // causal sliding window: query i sees keys i - window < j <= i; 0: none
  Activation feature_map = Activation::silu;  // lightning, norm_linear: φ on q and k (TNL's checkpoints: silu)
  int64_t block = 64;  // diag_block: rows per block (TransNormer v1: 64)
  BlockScores scores = BlockScores::softmax;  // diag_block: softmax (T2) or relu (T1)
  // hedgehog_window (LoLCATs): the window is `window` (0: pure linear attention).
  WindowLayout window_layout = WindowLayout::terrace;
  FeatureMapKind feature_kind = FeatureMapKind::hedgehog;
  int64_t feature_dim = 64;  // columns of each head's map W [head_dim, feature_dim]
  double init_window_logit = -2.1972245773362196;  // θ, γ = sigmoid(θ) = 0.1 (LoLCATs' w01)
  bool affine_factors = false;  // linear weight λ = 1 - γ instead of 1
  KdaConfig kda;                // kda only
  MlaConfig mla;                // mla only
};

// What one layer is made of.
struct LayerSpec {
  AttentionConfig attention;
  FfnConfig ffn;
};

// `layers` consecutive layers (0: all the layers no earlier group took; only the last group
// may say so). Each is the group's own spec, or, with a pattern, pattern[i % size] for the
// group's i-th layer. A group's attention and ffn start from the model's, and a pattern
// entry's from its group's, so each names only what differs.
struct LayerGroup {
  int64_t layers = 0;
  AttentionConfig attention;
  FfnConfig ffn;
  std::vector<LayerSpec> pattern;
};

// LoRA adapters (PEFT's LoraConfig; LoLCATs stage 2): each layer's `targets` projections
// become y = x Wᵀ + (alpha / r) · dropout(x) Aᵀ Bᵀ with A [r, in], B [out, r] (B starts at 0).
struct LoraConfig {
  int64_t r = 8;
  double alpha = 16.0;
  double dropout = 0.0;
  std::vector<std::string> targets = {"q_proj", "k_proj", "v_proj", "o_proj"};
};

struct ModelConfig {
  ModelKind kind = ModelKind::decoder;
  int64_t vocab_size = 8192;
  int64_t hidden = 256;
  int64_t layers = 4;
  int64_t heads = 4;     // must divide hidden
  int64_t kv_heads = 4;  // must divide heads (grouped-query attention when fewer)
  FfnConfig ffn;         // every layer's channel mixer, unless the layout says otherwise
  NormConfig norm;
  AttentionConfig attention;  // every layer's token mixer, unless the layout says otherwise
  // Per-layer attention kinds, repeated cyclically over the layers (DESIGN's shorthand for
  // hybrids); empty: every layer uses attention.kind. Exclusive with layout.
  std::vector<AttentionKind> layer_pattern;
  std::vector<LayerGroup> layout;  // empty: every layer is {attention, ffn}
  bool tie_embeddings = true;
  bool scale_embeddings = false;  // decoder: token embeddings times sqrt(hidden) (TransNormerLLM, Gemma)
  AbsolutePositions absolute_positions = AbsolutePositions::none;  // decoder: added after the scaling
  double dropout = 0.0;    // in [0, 1)
  double init_std = 0.02;  // std of the normal init
  int64_t max_seq_len = 2048;  // longest sequence the model accepts; data.seq_len must fit
  int64_t type_vocab_size = 2;  // encoder: token_type (segment A / B) embeddings
  bool unpad = true;            // encoder: compute on real tokens only; false runs every op on all B x T rows
  std::optional<LoraConfig> lora;  // YAML: a map, or null / absent for none

  int64_t head_dim() const { return heads > 0 ? hidden / heads : 0; }
};

// One spec per layer, in order: the layout's groups, else layer_pattern's kinds over
// {attention, ffn}, else {attention, ffn} everywhere. A layout that does not cover exactly
// `layers` layers is an error of validation; here it throws ConfigError.
std::vector<LayerSpec> layer_specs(const ModelConfig& m);

}  // namespace linea
