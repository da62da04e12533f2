// linea import / export (train/hf_transfer.h, train/hf_config.h): export then import gives
// back every parameter bit for bit and the same model config, for Llama (GQA, untied, Llama 3
// rope scaling), Mistral (sliding window), TransNormerLLM (LRPE on some layers) and Kimi Linear
// (KDA, MLA, a dense layer then MoE, the router's correction-bias buffers); config.json
// values linea does not implement, and folders whose tensors do not fit their config, are
// errors that name the key or tensor and write nothing. Logit parity with an independent
// PyTorch reader is tests/torch/hf_parity_test.cpp.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "configs/config.h"
#include "core/io/safetensors.h"
#include "core/rng.h"
#include "layers/decoder.h"
#include "support/temp_dir.h"
#include "support/testing.h"
#include "support/tiny_models.h"
#include "train/checkpoint.h"
#include "train/hf_transfer.h"

using namespace linea;
using linea::testing::expect_error;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

ModelConfig llama_config() {
  ModelConfig m = linea::testing::tiny_decoder_config(/*tie_embeddings=*/false);
  m.attention.rope_theta = 500000.0;
  m.attention.rope_scaling = RopeScalingConfig{8.0, 1.0, 4.0, 8};
  m.norm.eps = 1e-6;
  m.init_std = 0.3;
  return m;
}

ModelConfig mistral_config() {
  ModelConfig m = linea::testing::tiny_decoder_config(/*tie_embeddings=*/true);
  m.attention.window = 5;
  return m;
}

ModelConfig transnormer_config() {
  ModelConfig m = linea::testing::tiny_decoder_config(/*tie_embeddings=*/true);
  m.layers = 3;
  m.kv_heads = m.heads;
  m.ffn = {FfnKind::sglu, 24, Activation::silu};
  m.norm = {NormKind::simple_rmsnorm, 1e-6, NormPosition::pre};
  m.attention.kind = AttentionKind::lightning;
  m.attention.positions = PositionKind::none;
  m.scale_embeddings = true;
  m.max_seq_len = 8192;  // what an import sets: linear attention has no position table
  LayerGroup lrpe, rest;
  lrpe.layers = 1;
  lrpe.attention = m.attention;
  lrpe.attention.positions = PositionKind::lrpe;
  lrpe.ffn = m.ffn;
  rest.layers = 2;
  rest.attention = m.attention;
  rest.ffn = m.ffn;
  m.layout = {lrpe, rest};
  return m;
}

// Kimi Linear as an import builds it: a dense KDA layer, then MoE under KDA, MLA, KDA (one
// layout group per run of equal layers), the release's KDA options spelled out.
ModelConfig kimi_config() {
  ModelConfig m = linea::testing::tiny_decoder_config(/*tie_embeddings=*/false);
  m.layers = 4;
  m.kv_heads = m.heads;
  m.max_seq_len = 4096;
  AttentionConfig kda, mla;
  kda.kind = AttentionKind::kda;
  kda.positions = PositionKind::none;
  kda.kda.head_dim = kda.kda.value_dim = kda.kda.gate_rank = 8;
  kda.kda.conv_size = 3;
  mla.kind = AttentionKind::mla;
  mla.positions = PositionKind::none;
  mla.mla = MlaConfig{8, 4, 2, 6, 0.0};
  FfnConfig dense{FfnKind::swiglu, 24, Activation::silu}, moe{FfnKind::moe, 8, Activation::silu};
  moe.moe.experts = 4;
  moe.moe.top_k = 2;
  moe.moe.shared_experts = 1;
  moe.moe.routed_scaling = 2.5;
  m.attention = kda;
  m.ffn = dense;
  m.layout = {LayerGroup{1, kda, dense, {}}, LayerGroup{1, kda, moe, {}}, LayerGroup{1, mla, moe, {}},
              LayerGroup{1, kda, moe, {}}};
  return m;
}

// A checkpoint of `m` with weights drawn from `seed` (norm gains too, so none is left at 1;
// buffers too: Kimi's router correction biases).
std::string save_model(const linea::testing::TempDir& dir, const ModelConfig& m, const std::string& name,
                       uint64_t seed = 5) {
  Config cfg;
  cfg.model = m;
  cfg.data.seq_len = 16;
  Decoder model(m);
  Generator gen(seed);
  model.init_parameters(gen);
  for (auto& [n, p] : model.named_parameters()) normal_(p.data(), gen, 0.0, 0.3);
  for (auto& [n, b] : model.named_buffers()) normal_(b, gen, 0.0, 0.3);
  const std::string path = dir.file(name);
  save_checkpoint(path, model, nullptr, TrainerState{}, dump_config(cfg), 1);
  return path;
}

std::map<std::string, std::vector<double>> parameters_of(const std::string& checkpoint) {
  const Config cfg = parse_config(read_checkpoint_config(checkpoint), checkpoint);
  Decoder model(cfg.model);
  load_checkpoint(checkpoint, model, nullptr, nullptr);
  std::map<std::string, std::vector<double>> out;
  for (const auto& [n, p] : model.named_parameters()) out[n] = p.data().to_vector();
  for (const auto& [n, b] : model.named_buffers()) out[n] = b.to_vector();
  return out;
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

void write_json(const std::string& path, const json& j) { std::ofstream(path) << j.dump(2); }

// The folder's tensors, each transformed by `edit` (which may drop one by returning false).
void rewrite_tensors(const std::string& folder,
                     const std::function<bool(std::string&, Tensor&)>& edit) {
  const std::string file = folder + "/model.safetensors";
  std::vector<std::pair<std::string, Tensor>> kept;
  {
    SafetensorsFile f = SafetensorsFile::open(file);
    for (const auto& e : f.entries()) {
      std::string name = e.name;
      Tensor t = f.read(e.name, DType::f32);
      if (edit(name, t)) kept.emplace_back(name, t);
    }
  }
  write_safetensors(file, kept, DType::f32);
}

}  // namespace

TEST(HfTransfer, ExportThenImportIsBitExactForEachFamily) {
  struct Case {
    const char* name;
    ModelConfig model;
    const char* family;
  };
  for (const Case& c : {Case{"llama", llama_config(), "llama"}, Case{"mistral", mistral_config(), "mistral"},
                        Case{"transnormer", transnormer_config(), "transnormer"},
                        Case{"kimi_linear", kimi_config(), "kimi_linear"}}) {
    SCOPED_TRACE(c.name);
    linea::testing::TempDir dir;
    const std::string original = save_model(dir, c.model, "original.h5");
    const ExportReport e = export_hf(original, dir.file("hf"), DType::f32, "");
    EXPECT_EQ(std::string(to_string(e.family)), c.family);
    EXPECT_FALSE(fs::exists(dir.file("hf.tmp-export")));
    const ImportReport r = import_hf(dir.file("hf"), dir.file("imported.h5"));
    EXPECT_EQ(r.tensors, e.tensors);
    EXPECT_TRUE(r.skipped.empty());
    EXPECT_TRUE(r.arch.defaulted.empty()) << "export writes every field import reads";
    EXPECT_EQ(parameters_of(dir.file("imported.h5")), parameters_of(original));
    const Config back = parse_config(read_checkpoint_config(dir.file("imported.h5")), "imported");
    EXPECT_EQ(model_config_diff(back.model, c.model), std::vector<std::string>{});
  }
}

TEST(HfTransfer, NamesAndShapesFollowEachFamilysCheckpoints) {
  linea::testing::TempDir dir;
  export_hf(save_model(dir, llama_config(), "l.h5"), dir.file("llama"), DType::bf16, "");
  SafetensorsFile l = SafetensorsFile::open(dir.file("llama/model.safetensors"));
  EXPECT_EQ(l.find("model.layers.1.self_attn.k_proj.weight")->shape, (Shape{8, 16}));  // 2 KV heads of 4
  EXPECT_EQ(l.find("model.layers.0.mlp.down_proj.weight")->shape, (Shape{16, 24}));
  EXPECT_EQ(l.find("model.norm.weight")->dtype, "BF16");
  EXPECT_NE(l.find("lm_head.weight"), nullptr);
  const json lc = read_json(dir.file("llama/config.json"));
  EXPECT_EQ(lc["rope_scaling"]["rope_type"], "llama3");
  EXPECT_EQ(lc["rope_scaling"]["factor"], 8.0);
  EXPECT_EQ(lc["num_key_value_heads"], 2);
  EXPECT_EQ(lc["torch_dtype"], "bfloat16");
  EXPECT_EQ(lc["tie_word_embeddings"], false);

  export_hf(save_model(dir, transnormer_config(), "t.h5"), dir.file("tnl"), DType::f32, "");
  SafetensorsFile t = SafetensorsFile::open(dir.file("tnl/model.safetensors"));
  EXPECT_EQ(t.find("model.layers.0.token_mixer.lrpe.theta")->shape, (Shape{4, 1, 4}));
  EXPECT_EQ(t.find("model.layers.1.token_mixer.lrpe.theta"), nullptr);
  EXPECT_EQ(t.find("model.layers.2.token_mixer.qkvu_proj.weight")->shape, (Shape{64, 16}));
  EXPECT_EQ(t.find("model.layers.2.channel_mixer.l3.weight")->shape, (Shape{16, 24}));
  EXPECT_EQ(t.find("lm_head.weight"), nullptr);
  const json tc = read_json(dir.file("tnl/config.json"));
  EXPECT_EQ(tc["linear_use_lrpe_list"], json({1, 0, 0}));
  EXPECT_EQ(tc["no_scale_embedding"], false);

  // Kimi Linear's release: 1-based layer lists, unit axes on A_log and the conv taps, MoE
  // layers under block_sparse_moe with w1/w3/w2 experts and the bias inside the gate.
  export_hf(save_model(dir, kimi_config(), "k.h5"), dir.file("kimi"), DType::f32, "");
  SafetensorsFile k = SafetensorsFile::open(dir.file("kimi/model.safetensors"));
  EXPECT_EQ(k.find("model.layers.0.self_attn.A_log")->shape, (Shape{1, 1, 4, 1}));
  EXPECT_EQ(k.find("model.layers.0.self_attn.q_conv1d.weight")->shape, (Shape{32, 1, 3}));
  EXPECT_EQ(k.find("model.layers.0.self_attn.dt_bias")->shape, (Shape{32}));
  EXPECT_EQ(k.find("model.layers.0.self_attn.f_a_proj.weight")->shape, (Shape{8, 16}));
  EXPECT_EQ(k.find("model.layers.0.mlp.gate_proj.weight")->shape, (Shape{24, 16}));
  EXPECT_EQ(k.find("model.layers.2.self_attn.kv_a_proj_with_mqa.weight")->shape, (Shape{10, 16}));
  EXPECT_EQ(k.find("model.layers.2.self_attn.kv_b_proj.weight")->shape, (Shape{40, 8}));
  EXPECT_EQ(k.find("model.layers.1.block_sparse_moe.gate.weight")->shape, (Shape{4, 16}));
  EXPECT_EQ(k.find("model.layers.1.block_sparse_moe.gate.e_score_correction_bias")->shape, (Shape{4}));
  EXPECT_EQ(k.find("model.layers.3.block_sparse_moe.experts.3.w1.weight")->shape, (Shape{8, 16}));
  EXPECT_EQ(k.find("model.layers.3.block_sparse_moe.experts.3.w2.weight")->shape, (Shape{16, 8}));
  EXPECT_EQ(k.find("model.layers.3.block_sparse_moe.experts.3.w3.weight")->shape, (Shape{8, 16}));
  EXPECT_EQ(k.find("model.layers.3.block_sparse_moe.shared_experts.down_proj.weight")->shape, (Shape{16, 8}));
  EXPECT_EQ(k.find("model.layers.1.mlp.gate.weight"), nullptr);
  // bf16 exports keep what steers routing and sets decay rates in f32, as the release does.
  export_hf(save_model(dir, kimi_config(), "k16.h5"), dir.file("kimi16"), DType::bf16, "");
  SafetensorsFile k16 = SafetensorsFile::open(dir.file("kimi16/model.safetensors"));
  EXPECT_EQ(k16.find("model.layers.1.block_sparse_moe.gate.e_score_correction_bias")->dtype, "F32");
  EXPECT_EQ(k16.find("model.layers.0.self_attn.A_log")->dtype, "F32");
  EXPECT_EQ(k16.find("model.layers.0.self_attn.dt_bias")->dtype, "F32");
  EXPECT_EQ(k16.find("model.layers.0.self_attn.q_proj.weight")->dtype, "BF16");
  EXPECT_EQ(k16.find("model.layers.1.block_sparse_moe.gate.weight")->dtype, "BF16");
  const json kc = read_json(dir.file("kimi/config.json"));
  EXPECT_EQ(kc["model_type"], "kimi_linear");
  EXPECT_EQ(kc["linear_attn_config"]["kda_layers"], json({1, 2, 4}));
  EXPECT_EQ(kc["linear_attn_config"]["full_attn_layers"], json({3}));
  EXPECT_EQ(kc["first_k_dense_replace"], 1);
  EXPECT_EQ(kc["num_experts"], 4);
  EXPECT_EQ(kc["q_lora_rank"], nullptr);
}

// Writers disagree on unit axes (llama.cpp accepts Kimi's conv taps as [C, W] or [C, 1, W]):
// any shape with the same elements in the same order imports.
TEST(HfTransfer, KimiTensorsImportWithOrWithoutUnitAxes) {
  linea::testing::TempDir dir;
  const std::string original = save_model(dir, kimi_config(), "k.h5");
  export_hf(original, dir.file("hf"), DType::f32, "");
  int squeezed = 0;
  rewrite_tensors(dir.file("hf"), [&](std::string& n, Tensor& t) {
    if (n.find("_conv1d.weight") != std::string::npos || n.find("A_log") != std::string::npos) {
      Shape s;
      for (int64_t d : t.shape())
        if (d != 1) s.push_back(d);
      t = t.reshape(s).contiguous();
      ++squeezed;
    }
    return true;
  });
  EXPECT_EQ(squeezed, 3 * 4);  // three KDA layers: three conv weights and A_log each
  import_hf(dir.file("hf"), dir.file("imported.h5"));
  EXPECT_EQ(parameters_of(dir.file("imported.h5")), parameters_of(original));
}

TEST(HfTransfer, Bf16ExportImportsAsTheRoundedValues) {
  linea::testing::TempDir dir;
  const std::string original = save_model(dir, llama_config(), "original.h5");
  export_hf(original, dir.file("hf"), DType::bf16, "");
  import_hf(dir.file("hf"), dir.file("imported.h5"));
  auto want = parameters_of(original);
  for (auto& [n, v] : want) v = Tensor::from_vector(v, {int64_t(v.size())}).to(DType::bf16).to(DType::f32).to_vector();
  EXPECT_EQ(parameters_of(dir.file("imported.h5")), want);
}

TEST(HfTransfer, ConfigValuesLineaDoesNotImplementAreNamed) {
  linea::testing::TempDir dir;
  export_hf(save_model(dir, llama_config(), "l.h5"), dir.file("hf"), DType::f32, "");
  const json good = read_json(dir.file("hf/config.json"));
  struct Case {
    std::function<void(json&)> edit;
    std::string error;
  };
  const std::vector<Case> cases = {
      {[](json& j) { j.erase("hidden_size"); }, "config.json: hidden_size: missing, expected an integer"},
      {[](json& j) { j["rms_norm_eps"] = "small"; }, "rms_norm_eps: \"small\", expected a number"},
      {[](json& j) { j["model_type"] = "gpt2"; }, "model_type: 'gpt2' is not supported, expected llama, mistral, transnormer or kimi_linear"},
      {[](json& j) { j["rope_scaling"]["rope_type"] = "dynamic"; }, "rope_scaling.rope_type: \"dynamic\" is not supported"},
      {[](json& j) { j["rope_scaling"].erase("factor"); }, "rope_scaling.factor: missing"},
      {[](json& j) { j["head_dim"] = 8; }, "head_dim: 8, expected hidden_size / num_attention_heads = 4"},
      {[](json& j) { j["hidden_act"] = "gelu"; }, "hidden_act: \"gelu\", expected \"silu\""},
      {[](json& j) { j["attention_bias"] = true; }, "attention_bias: true, expected false"},
      {[](json& j) { j["num_key_value_heads"] = 3; }, "num_key_value_heads: 3 does not divide num_attention_heads 4"},
      {[](json& j) { j["num_hidden_layers"] = 0; }, "config.json describes a model linea does not build"},
  };
  for (const Case& c : cases) {
    json j = good;
    c.edit(j);
    write_json(dir.file("hf/config.json"), j);
    expect_error<ConfigError>([&] { import_hf(dir.file("hf"), dir.file("out.h5")); }, c.error);
    EXPECT_FALSE(fs::exists(dir.file("out.h5"))) << c.error;
  }
  // Absent optional keys take Hugging Face's defaults and are reported.
  json j = good;
  j.erase("rope_theta");
  j.erase("num_key_value_heads");
  j.erase("tie_word_embeddings");
  write_json(dir.file("hf/config.json"), j);
  const HfArchitecture a = read_hf_config(dir.file("hf"));
  EXPECT_EQ(a.model.attention.rope_theta, 10000.0);
  EXPECT_EQ(a.model.kv_heads, 4);
  EXPECT_EQ(a.defaulted, (std::vector<std::string>{"num_key_value_heads = 4", "rope_theta = 10000", "tie_word_embeddings = false"}));

  export_hf(save_model(dir, transnormer_config(), "t.h5"), dir.file("tnl"), DType::f32, "");
  const json tnl = read_json(dir.file("tnl/config.json"));
  const std::vector<Case> tnl_cases = {
      {[](json& j) { j["linear_use_lrpe_list"] = {1, 0}; }, "linear_use_lrpe_list: [1,0], expected a list of 3 flags"},
      {[](json& j) { j["linear_act_fun"] = "relu"; }, "linear_act_fun: 'relu' is not supported"},
      {[](json& j) { j["norm_type"] = "layernorm"; }, "norm_type: 'layernorm' is not supported"},
      {[](json& j) { j["hidden_dim"] = 32; }, "hidden_dim: 32, expected decoder_embed_dim 16"},
      {[](json& j) { j.erase("glu_dim"); }, "glu_dim: missing"},
  };
  for (const Case& c : tnl_cases) {
    json t = tnl;
    c.edit(t);
    write_json(dir.file("tnl/config.json"), t);
    expect_error<ConfigError>([&] { import_hf(dir.file("tnl"), dir.file("out.h5")); }, c.error);
  }

  export_hf(save_model(dir, kimi_config(), "k.h5"), dir.file("kimi"), DType::f32, "");
  const json kimi = read_json(dir.file("kimi/config.json"));
  const std::vector<Case> kimi_cases = {
      {[](json& j) { j["q_lora_rank"] = 64; }, "q_lora_rank: 64, expected null (linea's MLA has no q compression"},
      {[](json& j) { j["mla_use_nope"] = false; }, "mla_use_nope: false, expected true"},
      {[](json& j) { j["moe_router_activation_func"] = "softmax"; }, "moe_router_activation_func: \"softmax\", expected \"sigmoid\""},
      {[](json& j) { j["num_expert_group"] = 2; }, "num_expert_group: 2, expected 1"},
      {[](json& j) { j["linear_attn_config"]["num_heads"] = 2; }, "linear_attn_config.num_heads: 2, expected num_attention_heads 4"},
      {[](json& j) { j["linear_attn_config"]["kda_layers"] = {1, 2}; }, "linear_attn_config.kda_layers: layer 4 is in neither"},
      {[](json& j) { j["linear_attn_config"]["full_attn_layers"] = {3, 4}; }, "linear_attn_config.full_attn_layers: layer 4 is listed twice"},
      {[](json& j) { j["linear_attn_config"]["kda_layers"] = {0, 1, 2}; }, "layer 0 outside 1..4 (the lists count layers from 1)"},
      {[](json& j) { j.erase("linear_attn_config"); }, "linear_attn_config: missing, expected a map"},
      {[](json& j) { j.erase("kv_lora_rank"); }, "kv_lora_rank: missing"},
      {[](json& j) { j.erase("mla_use_nope"); }, "mla_use_nope: missing, expected true"},
      {[](json& j) { j["linear_attn_config"]["head_dim"] = 0; }, "linear_attn_config.head_dim: 0, expected a positive integer"},
      {[](json& j) { j["num_experts_per_token"] = 5; }, "num_experts_per_token: 5, expected at most num_experts 4"},
      {[](json& j) {
         j.erase("use_grouped_topk");  // the release's default: grouped
         j["topk_group"] = 2;
       },
       "topk_group: 2, expected 1"},
  };
  for (const Case& c : kimi_cases) {
    json k = kimi;
    c.edit(k);
    write_json(dir.file("kimi/config.json"), k);
    expect_error<ConfigError>([&] { import_hf(dir.file("kimi"), dir.file("out.h5")); }, c.error);
  }
  // The release renormalizes the chosen scores only with more than one expert per token.
  json top1 = kimi;
  top1["num_experts_per_token"] = 1;
  write_json(dir.file("kimi/config.json"), top1);
  EXPECT_FALSE(read_hf_config(dir.file("kimi")).model.layout[1].ffn.moe.renormalize);
  EXPECT_TRUE(read_hf_config(dir.file("kimi")).model.layout[1].ffn.moe.top_k == 1);
}

TEST(HfTransfer, TensorsThatDoNotFitTheConfigAreNamedAndNothingIsWritten) {
  linea::testing::TempDir dir;
  const std::string original = save_model(dir, mistral_config(), "m.h5");
  export_hf(original, dir.file("hf"), DType::f32, "");
  const std::string out = dir.file("out.h5");
  auto expect_import_error = [&](const std::string& fragment) {
    expect_error<CheckpointError>([&] { import_hf(dir.file("hf"), out); }, fragment);
    EXPECT_FALSE(fs::exists(out)) << fragment;
    EXPECT_FALSE(fs::exists(out + ".tmp")) << fragment;
    fs::remove_all(dir.file("hf"));
    export_hf(original, dir.file("hf"), DType::f32, "");
  };
  rewrite_tensors(dir.file("hf"), [](std::string& n, Tensor&) { return n != "model.layers.1.mlp.up_proj.weight"; });
  expect_import_error("tensor model.layers.1.mlp.up_proj.weight is missing (config.json's model has it: linea's "
                      "layers.1.mlp.up_proj.weight)");
  rewrite_tensors(dir.file("hf"), [](std::string& n, Tensor& t) {
    if (n == "model.norm.weight") t = Tensor::zeros({17});
    return true;
  });
  expect_import_error("tensor model.norm.weight has shape [17], config.json implies [16]");
  rewrite_tensors(dir.file("hf"), [](std::string& n, Tensor&) {
    if (n == "model.norm.weight") n = "model.norm.bias";
    return true;
  });
  expect_import_error("tensor model.norm.weight is missing");
  rewrite_tensors(dir.file("hf"), [](std::string&, Tensor&) { return true; });
  {  // an extra tensor, then a tied head saved with other values
    SafetensorsFile f = SafetensorsFile::open(dir.file("hf/model.safetensors"));
    std::vector<std::pair<std::string, Tensor>> all;
    for (const auto& e : f.entries()) all.emplace_back(e.name, f.read(e.name, DType::f32));
    auto with = [&](const std::string& name, const Tensor& t) {
      auto v = all;
      v.emplace_back(name, t);
      write_safetensors(dir.file("hf/model.safetensors"), v, DType::f32);
    };
    with("model.layers.0.self_attn.q_proj.bias", Tensor::zeros({16}));
    expect_error<CheckpointError>([&] { import_hf(dir.file("hf"), out); },
                                  "tensor model.layers.0.self_attn.q_proj.bias has no place in the mistral model");
    Tensor embed = f.read("model.embed_tokens.weight", DType::f32);
    with("lm_head.weight", embed.clone());
    EXPECT_EQ(import_hf(dir.file("hf"), out).skipped, std::vector<std::string>{"lm_head.weight"});
    fs::remove(out);
    Tensor other = embed.clone();
    other.set({3, 2}, 7.0);
    with("lm_head.weight", other);
    expect_error<CheckpointError>([&] { import_hf(dir.file("hf"), out); },
                                  "lm_head.weight differs from model.embed_tokens.weight, but config.json ties them");
    with("model.layers.1.self_attn.rotary_emb.inv_freq", Tensor::zeros({2}));
    EXPECT_EQ(import_hf(dir.file("hf"), out).skipped,
              std::vector<std::string>{"model.layers.1.self_attn.rotary_emb.inv_freq"});
    EXPECT_EQ(parameters_of(out), parameters_of(original));
  }
  // A tokenizer file that does not load is left out with a warning; the weights still import.
  std::ofstream(dir.file("hf/tokenizer.model")) << "not a sentencepiece model";
  fs::remove(out);
  EXPECT_EQ(import_hf(dir.file("hf"), out).tokenizer, "");
  EXPECT_FALSE(read_checkpoint_tokenizer(out).has_value());
}

TEST(HfTransfer, ExportRefusesModelsWithoutAnEquivalentAndExistingFolders) {
  linea::testing::TempDir dir;
  ModelConfig alibi = llama_config();
  alibi.attention.positions = PositionKind::alibi;
  alibi.attention.rope_scaling.reset();
  expect_error<ConfigError>([&] { export_hf(save_model(dir, alibi, "a.h5"), dir.file("a"), DType::f32, ""); },
                            "export: not a Llama or Mistral checkpoint: layer 0: attention.positions: expected rope");
  ModelConfig tnl = transnormer_config();
  tnl.norm.eps = 1e-5;
  expect_error<ConfigError>([&] { export_hf(save_model(dir, tnl, "t.h5"), dir.file("t"), DType::f32, ""); },
                            "expected pre simple_rmsnorm with eps 1e-6");
  ModelConfig bounded = kimi_config();  // fla's lower-bound gate: not the release's
  bounded.layout[3].attention.kda.gate_lower_bound = -5;
  expect_error<ConfigError>([&] { export_hf(save_model(dir, bounded, "k.h5"), dir.file("k"), DType::f32, ""); },
                            "export: not a Kimi Linear checkpoint: layer 3: kda: expected the release's options");
  ModelConfig top1 = kimi_config();  // linea would renormalize one expert's score to 1; the release does not
  for (size_t g = 1; g < top1.layout.size(); ++g) top1.layout[g].ffn.moe.top_k = 1;
  expect_error<ConfigError>([&] { export_hf(save_model(dir, top1, "k1.h5"), dir.file("k"), DType::f32, ""); },
                            "layer 1: ffn: moe renormalizes a single expert's score");
  ModelConfig late_dense = kimi_config();  // the release's dense layers come first
  late_dense.layout[3].ffn = late_dense.layout[0].ffn;
  expect_error<ConfigError>([&] { export_hf(save_model(dir, late_dense, "d.h5"), dir.file("d"), DType::f32, ""); },
                            "layer 3: ffn: a dense layer after a MoE layer");
  EXPECT_FALSE(fs::exists(dir.file("a")));
  EXPECT_FALSE(fs::exists(dir.file("t")));
  EXPECT_FALSE(fs::exists(dir.file("k")));

  const std::string ok = save_model(dir, llama_config(), "l.h5");
  fs::create_directories(dir.file("busy"));
  std::ofstream(dir.file("busy/keep.txt")) << "mine";
  expect_error<ConfigError>([&] { export_hf(ok, dir.file("busy"), DType::f32, ""); },
                            "exists and is not an empty folder; expected a new folder");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.file("busy")), fs::directory_iterator()), 1);
  expect_error<ConfigError>([&] { export_hf(ok, dir.file("no/such/parent/x"), DType::f32, ""); }, "folder not found");
  fs::create_directories(dir.file("empty"));
  export_hf(ok, dir.file("empty"), DType::f32, "");  // an empty folder is taken
  EXPECT_TRUE(fs::exists(dir.file("empty/model.safetensors")));
}

// LoRA adapters have no place in a Hugging Face checkpoint: export refuses them unless asked
// to merge, and the merged model computes what the adapted one does.
TEST(HfTransfer, LoraIsMergedOnRequestAndTheMergedModelMatches) {
  linea::testing::TempDir dir;
  ModelConfig m = llama_config();
  m.lora = LoraConfig{2, 8.0, 0.0, {"q_proj", "o_proj"}};
  const std::string adapted = save_model(dir, m, "lora.h5");  // B drawn too: the update is not 0
  expect_error<ConfigError>([&] { export_hf(adapted, dir.file("hf"), DType::f32, ""); },
                            "has LoRA adapters (model.lora); pass --merge-lora");
  EXPECT_FALSE(fs::exists(dir.file("hf")));
  const ExportReport r = export_hf(adapted, dir.file("hf"), DType::f32, "", /*merge_lora=*/true);
  EXPECT_EQ(r.tensors, 21);  // the plain model's (untied head): no lora_A / lora_B
  import_hf(dir.file("hf"), dir.file("merged.h5"));
  auto logits = [](const std::string& ckpt) {
    const Config cfg = parse_config(read_checkpoint_config(ckpt), ckpt);
    Decoder model(cfg.model);
    load_checkpoint(ckpt, model, nullptr, nullptr);
    return model.forward(linea::testing::random_ids({2, 9}, 3)).data();
  };
  EXPECT_TRUE(linea::testing::all_close(logits(dir.file("merged.h5")), logits(adapted), 1e-5, 1e-5));
}
