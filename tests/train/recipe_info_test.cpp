// count_parameters (linea info RECIPE.yaml): the meta-device count equals the count of the
// same model built with data, splits off embedding, head and routed experts, and scales each
// MoE layer's routed experts by its own top_k / experts for the per-token count; the
// Kimi-Linear-48B-A3B recipe has the spec §4.3 budget (49.1B, 3.48B active, 2.73B without
// embedding and head), counted without the ~196 GB its f32 weights would take.
#include <gtest/gtest.h>

#include <filesystem>

#include "configs/config.h"
#include "layers/decoder.h"
#include "support/tiny_models.h"
#include "train/recipe_info.h"

using namespace linea;

namespace {

TEST(RecipeInfo, MetaCountEqualsTheBuiltModel) {
  for (bool tied : {true, false}) {
    const ModelConfig m = linea::testing::tiny_decoder_config(tied);
    const ParameterCount c = count_parameters(m);
    const Decoder built(m);
    EXPECT_EQ(c.total, built.num_parameters());
    EXPECT_EQ(c.tensors, int64_t(built.named_parameters().size()));
    EXPECT_EQ(c.embedding, m.vocab_size * m.hidden);
    EXPECT_EQ(c.head, tied ? 0 : m.vocab_size * m.hidden);
    EXPECT_EQ(c.routed_experts, 0);
    EXPECT_EQ(c.active, c.total);
  }
  const ModelConfig e = linea::testing::tiny_encoder_config();
  const ParameterCount ce = count_parameters(e);
  EXPECT_EQ(ce.embedding, e.vocab_size * e.hidden);
  EXPECT_GT(ce.head, 0);  // the MLM head's dense, norm and bias
}

TEST(RecipeInfo, EachMoeLayerCountsItsOwnTopK) {
  ModelConfig m = linea::testing::tiny_decoder_config();
  m.layers = 3;
  FfnConfig moe{FfnKind::moe, 8, Activation::silu, {}};
  moe.moe.experts = 4;
  moe.moe.top_k = 1;
  FfnConfig moe2 = moe;
  moe2.moe.top_k = 3;
  m.layout = {LayerGroup{1, m.attention, m.ffn, {}}, LayerGroup{1, m.attention, moe, {}},
              LayerGroup{1, m.attention, moe2, {}}};
  const ParameterCount c = count_parameters(m);
  const Decoder built(m);
  EXPECT_EQ(c.total, built.num_parameters());
  const int64_t expert = 3 * m.hidden * 8;  // gate, up, down of width 8
  EXPECT_EQ(c.routed_experts, 2 * 4 * expert);
  EXPECT_EQ(c.active, c.total - (4 - 1) * expert - (4 - 3) * expert);
}

// Every shipped recipe builds on the meta device (constructors that upload tables, such as
// LRPE's or the hedgehog maps' identity init, copy into meta as a no-op) and counts its
// embedding.
TEST(RecipeInfo, EveryRecipeIsCounted) {
  int recipes = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(LINEA_SOURCE_DIR "/recipes")) {
    if (e.path().extension() != ".yaml") continue;
    const Config config = load_config(e.path().string());
    const ParameterCount c = count_parameters(config.model);
    EXPECT_GT(c.embedding, 0) << e.path();
    EXPECT_GT(c.total, c.embedding) << e.path();
    ++recipes;
  }
  EXPECT_GT(recipes, 30);
}

TEST(RecipeInfo, KimiLinear48BHasTheSpecsBudget) {
  const Config config = load_config(LINEA_SOURCE_DIR "/recipes/kimi-linear/kimi-linear-48b-a3b.yaml");
  const ParameterCount c = count_parameters(config.model);
  EXPECT_EQ(c.embedding, 163840LL * 2304);
  EXPECT_EQ(c.head, 163840LL * 2304);
  EXPECT_EQ(c.routed_experts, 26LL * 256 * 3 * 2304 * 1024);  // 26 MoE layers of 256 experts of 7.08M
  EXPECT_NEAR(double(c.total), 49.1e9, 0.05e9);
  EXPECT_NEAR(double(c.active), 3.48e9, 0.005e9);
  EXPECT_NEAR(double(c.active - c.embedding - c.head), 2.73e9, 0.005e9);
}

}  // namespace
