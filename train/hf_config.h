// Hugging Face model folders as linea models: config.json <-> ModelConfig, and each linea
// parameter's name and shape in the Hugging Face checkpoint of its family.
//
// Families: `llama` (LlamaForCausalLM) and `mistral` (MistralForCausalLM: Llama plus a
// sliding window), whose names linea's decoder already uses, under a `model.` prefix
// (specs decoder.md); and `transnormer` (TransNormerLLM's release, modeling_transnormer.py),
// whose token mixer is linea's `lightning`; and `kimi_linear` (Moonshot's Kimi Linear release,
// KimiLinearForCausalLM: KDA and NoPE MLA layers, a dense first MLP, then MoE blocks under
// `block_sparse_moe.`), whose router correction bias is a linea buffer rather than a parameter.
// Every field the math uses is read from
// config.json; a required key that is missing, or a value linea does not implement, is a
// ConfigError naming "<folder>/config.json: <key>". Keys Hugging Face's own config classes
// default when absent (rope_theta, num_key_value_heads, tie_word_embeddings, ...) take that
// default and are listed in `defaulted`, so the import can say so.
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"
#include "layers/model_config.h"

namespace linea {

enum class HfFamily { llama, mistral, transnormer, kimi_linear };
const char* to_string(HfFamily f);

struct HfArchitecture {
  HfFamily family = HfFamily::llama;
  ModelConfig model;
  std::vector<std::string> defaulted;  // config.json keys that were absent, each "key = value used"
  int64_t bos_token_id = -1, eos_token_id = -1;  // -1: absent (or a list, as Llama 3 instruct has)
};

// Reads <folder>/config.json.
HfArchitecture read_hf_config(const std::string& folder);

// The family a linea model exports as, or a ConfigError saying which part of it has no
// Hugging Face equivalent (e.g. a layer with ALiBi, an encoder, a norm linea's family lacks).
HfFamily hf_family_of(const ModelConfig& m);

// config.json text for `m` in `family` (hf_family_of's answer), its tensors stored as
// `dtype` (f32, bf16, f16); read_hf_config of it gives back `m`'s architecture.
std::string hf_config_json(const ModelConfig& m, HfFamily family, DType dtype, int64_t bos_token_id,
                           int64_t eos_token_id);

// Where the linea parameter (or stored buffer) `name` of shape `shape` lives in the family's
// checkpoint, and its shape there (the same element order; only unit axes differ: TransNormer's
// LRPE θ, Kimi's A_log [1, 1, H, 1] and short-conv taps [C, 1, W]).
struct HfTensor {
  std::string name;
  Shape shape;
  // Stored in f32 whatever the export's dtype: values that steer routing or set decay rates
  // (Kimi's correction biases, A_log, dt_bias), which the release keeps in f32 too.
  bool full_precision = false;
};
HfTensor hf_tensor(HfFamily family, const std::string& name, const Shape& shape);

// Tensors a family's checkpoints may hold that carry no parameters (older Llama uploads store
// each layer's rotary inv_freq cache); an import skips them.
bool hf_tensor_derived(HfFamily family, const std::string& hf_name);

}  // namespace linea
