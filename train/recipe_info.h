// `linea info RECIPE.yaml`: what a recipe's model holds, counted on the meta device (shapes
// without data), so a 48B recipe is described on a laptop: parameters in total and per
// token (an MoE layer's token passes top_k of its routed experts), embedding and head apart.
#pragma once
#include <cstdint>
#include <string>

#include "layers/model_config.h"

namespace linea {

struct ParameterCount {
  int64_t total = 0;
  int64_t embedding = 0;       // embed_tokens (encoders: embeddings.word_embeddings)
  int64_t head = 0;            // lm_head, 0 when tied (encoders: the MLM head, whose decoder weight is tied)
  int64_t routed_experts = 0;  // every MoE layer's routed experts
  int64_t tensors = 0;
  // Per token: everything but the routed experts, plus top_k / experts of each layer's.
  int64_t active = 0;
};

// Builds the model of `m` (a validated, buildable model section) on the meta device.
ParameterCount count_parameters(const ModelConfig& m);

// Prints the recipe's resolved model section, its layout and the counts; 0.
int describe_recipe(const std::string& path);

}  // namespace linea
