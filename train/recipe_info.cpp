#include "train/recipe_info.h"

#include <cstdio>
#include <memory>
#include <vector>

#include "configs/config.h"
#include "layers/decoder.h"
#include "layers/encoder.h"
#include "train/model_builder.h"

namespace linea {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

std::unique_ptr<Module> build_on_meta(const ModelConfig& m) {
  if (m.kind == ModelKind::encoder) return std::make_unique<Encoder>(m, Device::meta(), DType::f32);
  return std::make_unique<Decoder>(m, Device::meta(), DType::f32);
}

// 49.123B, 8.763M: three decimals of the largest unit below the count.
std::string short_count(int64_t n) {
  char text[32];
  if (n >= 1000000000) std::snprintf(text, sizeof text, "%.3fB", double(n) / 1e9);
  else std::snprintf(text, sizeof text, "%.3fM", double(n) / 1e6);
  return text;
}

}  // namespace

ParameterCount count_parameters(const ModelConfig& m) {
  const std::unique_ptr<Module> model = build_on_meta(m);
  const std::vector<LayerSpec> specs = layer_specs(m);
  // Routed experts' parameters per layer, to scale each layer's by its own top_k / experts;
  // their name prefix per MoE layer (empty for the others).
  std::vector<int64_t> routed(specs.size(), 0);
  std::vector<std::string> experts(specs.size());
  for (size_t l = 0; l < specs.size(); ++l)
    if (specs[l].ffn.kind == FfnKind::moe) experts[l] = str_cat("layers.", l, ".mlp.experts.");
  // Decoders: embed_tokens and lm_head (absent when tied); encoders: the word embeddings and
  // the MLM head (its decoder weight is the embedding's).
  const bool encoder = m.kind == ModelKind::encoder;
  const std::string embedding = encoder ? "embeddings.word_embeddings." : "embed_tokens.";
  const std::string head = encoder ? "mlm_head." : "lm_head.";
  ParameterCount c;
  for (const auto& [name, p] : model->named_parameters()) {
    const int64_t n = p.data().numel();
    c.total += n;
    ++c.tensors;
    if (starts_with(name, embedding)) c.embedding += n;
    if (starts_with(name, head)) c.head += n;
    for (size_t l = 0; l < specs.size(); ++l)
      if (!experts[l].empty() && starts_with(name, experts[l])) routed[l] += n;
  }
  c.active = c.total;
  for (size_t l = 0; l < specs.size(); ++l) {
    if (routed[l] == 0) continue;
    const MoeConfig& moe = specs[l].ffn.moe;
    c.routed_experts += routed[l];
    c.active -= routed[l] - routed[l] / moe.experts * moe.top_k;  // every expert has the same shape
  }
  return c;
}

int describe_recipe(const std::string& path) {
  const Config config = load_config(path);
  check_buildable(config);
  const ParameterCount c = count_parameters(config.model);
  std::printf("recipe         %s\n", path.c_str());
  std::printf("parameters     %ld (%s) in %ld tensors, counted without data (meta device)\n", long(c.total),
              short_count(c.total).c_str(), long(c.tensors));
  std::printf("embedding      %ld (%s); head %s\n", long(c.embedding), short_count(c.embedding).c_str(),
              c.head > 0 ? str_cat(c.head, " (", short_count(c.head), ")").c_str() : "tied to the embedding");
  if (c.routed_experts > 0)
    std::printf("routed experts %ld (%s)\n", long(c.routed_experts), short_count(c.routed_experts).c_str());
  std::printf("per token      %ld (%s) active; %s without embedding and head\n", long(c.active),
              short_count(c.active).c_str(), short_count(c.active - c.embedding - c.head).c_str());
  std::printf("\n# layout\n");
  for (const std::string& line : layout_summary(config.model)) std::printf("%s\n", line.c_str());
  return 0;
}

}  // namespace linea
