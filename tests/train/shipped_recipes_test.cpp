// Every recipe under recipes/ loads (base: files resolved) and passes check_buildable, so a
// schema change or a refused kind cannot leave a shipped recipe unusable; and the TransNormer
// CPU experiment's two models have the parameter counts the spec's §7.2 table matches.
#include <gtest/gtest.h>

#include <filesystem>

#include "configs/config.h"
#include "layers/decoder.h"
#include "train/model_builder.h"

using namespace linea;

namespace {

const std::string kRecipes = LINEA_SOURCE_DIR "/recipes";

int64_t non_embedding_parameters(const std::string& recipe) {
  const Config c = load_config(kRecipes + "/" + recipe);
  const Decoder model(c.model);
  return model.num_parameters() - c.model.vocab_size * c.model.hidden;  // tied head
}

}  // namespace

TEST(ShippedRecipes, EveryRecipeLoadsAndIsBuildable) {
  int checked = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(kRecipes)) {
    if (entry.path().extension() != ".yaml") continue;
    SCOPED_TRACE(entry.path().string());
    EXPECT_NO_THROW(check_buildable(load_config(entry.path().string())));
    ++checked;
  }
  EXPECT_GE(checked, 10);
}

// specs/transnormer.md §7.2: 3,473,408 (+256 LRPE θ) for TNL, 3,407,872 (+2,304 norm gains)
// for the twin whose SwiGLU is widened to 768 for that match.
TEST(ShippedRecipes, TransNormerTinyAndItsTwinMatchTheSpecsParameterCounts) {
  EXPECT_EQ(non_embedding_parameters("transnormer/tiny.yaml"), 3473408 + 256);
  EXPECT_EQ(non_embedding_parameters("transnormer/tiny_softmax.yaml"), 3407872 + 2304);
}
