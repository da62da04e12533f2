// Per-layer layouts in recipes: groups, patterns and their defaults, the YAML round trip,
// and located errors for unknown keys and kinds, bad options and layouts that do not cover
// the model's layers.
#include <gtest/gtest.h>

#include "configs/config.h"
#include "tests/configs/recipe_files.h"

using namespace linea;
using linea::testing::config_error;

namespace {

std::string error_of(const std::string& yaml) {
  return config_error([&] { parse_config(yaml, "r.yaml"); });
}

// Global softmax every 4th layer, a 64-token window elsewhere, the first layer a GeGLU.
const char* kMixed = R"(model:
  layers: 8
  attention: {window: 64}
  ffn: {kind: swiglu, hidden: 96}
  layout:
    - layers: 1
      ffn: {kind: glu, activation: gelu}
    - pattern:
        - {}
        - {}
        - attention: {window: 0}
        - {}
)";

}  // namespace

TEST(ModelLayout, GroupsAndPatternsResolveToOneSpecPerLayer) {
  const Config c = parse_config(kMixed, "r.yaml");
  const std::vector<LayerSpec> specs = layer_specs(c.model);
  ASSERT_EQ(specs.size(), 8u);
  // Layer 0: its own group, the model's window, its own channel mixer (hidden inherited).
  EXPECT_EQ(specs[0].ffn.kind, FfnKind::glu);
  EXPECT_EQ(specs[0].ffn.activation, Activation::gelu);
  EXPECT_EQ(specs[0].ffn.hidden, 96);
  EXPECT_EQ(specs[0].attention.window, 64);
  // Layers 1..7 cycle the 4-entry pattern from the group's first layer: 3 and 7 are global.
  for (size_t i = 1; i < 8; ++i) {
    EXPECT_EQ(specs[i].ffn.kind, FfnKind::swiglu) << i;
    EXPECT_EQ(specs[i].attention.window, i == 3 || i == 7 ? 0 : 64) << i;
  }
}

TEST(ModelLayout, DumpedConfigParsesBackEqual) {
  const Config c = parse_config(kMixed, "r.yaml");
  const std::string yaml = dump_config(c);
  EXPECT_NE(yaml.find("  layout:\n  - layers: 1\n    attention:\n"), std::string::npos) << yaml;
  const Config back = parse_config(yaml, "dump.yaml");
  EXPECT_TRUE(back == c);
  EXPECT_EQ(dump_config(parse_config("model: {layers: 2}\n", "r.yaml")).find("layout: []") != std::string::npos, true);
  // The model diff names a changed pattern entry.
  Config d = c;
  d.model.layout[1].pattern[2].attention.window = 32;
  const std::vector<std::string> diff = model_config_diff(c.model, d.model);
  ASSERT_EQ(diff.size(), 1u);
  EXPECT_EQ(diff[0].rfind("model.layout: ", 0), 0u) << diff[0];
}

TEST(ModelLayout, ErrorsAreLocatedInsideTheList) {
  EXPECT_EQ(error_of("model:\n  layout:\n    - layers: 2\n      attn: {window: 3}\n    - {}\n"),
            "r.yaml:4:7: model.layout[0].attn: unknown key, expected one of layers, attention, ffn, pattern");
  EXPECT_EQ(error_of("model:\n  layout:\n    - ffn: {kind: relu2}\n"),
            "r.yaml:3:19: model.layout[0].ffn.kind: expected one of swiglu, geglu, sglu, glu, mlp, moe, got 'relu2'");
  EXPECT_EQ(error_of("model:\n  layout: [3]\n"), "r.yaml:2:12: model.layout[0]: expected a map, got '3'");
  EXPECT_EQ(error_of("model:\n  layout: {layers: 2}\n"), "r.yaml:2:11: model.layout: expected a list of maps, got a map");
  EXPECT_EQ(error_of("model:\n  layers: 4\n  layout:\n    - {layers: 1}\n    - {layers: 2}\n"),
            "r.yaml:4:5: model.layout: expected groups covering model.layers (4) exactly, got 3 layers");
  EXPECT_EQ(error_of("model:\n  layers: 4\n  layout:\n    - {layers: 0}\n    - {layers: 2}\n"),
            "r.yaml:4:16: model.layout[0].layers: expected a count > 0 (0, all remaining layers, only in the last "
            "group), got 0");
  EXPECT_EQ(error_of("model:\n  layer_pattern: [softmax]\n  layout: [{}]\n"),
            "r.yaml:2:18: model.layer_pattern: expected [] when model.layout is given (the layout says each layer's "
            "attention), got a pattern");
}

TEST(ModelLayout, OptionsOfEveryGroupAndPatternEntryAreValidated) {
  EXPECT_EQ(error_of("model:\n  layout:\n    - pattern:\n        - attention: {window: -2}\n"),
            "r.yaml:4:31: model.layout[0].pattern[0].attention.window: expected an integer >= 0, got -2");
  EXPECT_EQ(error_of("model:\n  layout:\n    - ffn: {hidden: 0}\n"),
            "r.yaml:3:21: model.layout[0].ffn.hidden: expected an integer > 0, got 0");
  // Kinds of the model families to come parse (the model builder refuses them).
  EXPECT_EQ(parse_config("model:\n  layout:\n    - pattern: [{attention: {kind: kda}}]\n", "r.yaml")
                .model.layout[0].pattern[0].attention.kind,
            AttentionKind::kda);
}
