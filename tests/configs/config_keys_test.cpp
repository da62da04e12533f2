// The recipe key reference: a table per section, every key with its type, default and
// description.
#include <gtest/gtest.h>

#include "configs/config_keys.h"
#include "tests/configs/recipe_files.h"

using linea::recipe_key_reference;
using linea::testing::contains;

TEST(ConfigKeys, ReferenceHasATablePerSection) {
  const std::string md = recipe_key_reference();
  EXPECT_EQ(md.rfind("# Recipe keys\n", 0), 0u);
  for (const char* heading : {"## Top level\n", "## `model`\n", "## `model.ffn`\n", "## `model.attention.rope_scaling`\n",
                              "## `data.mlm`\n", "## `schedule`\n", "## `train`\n", "## `dist`\n", "## `task`\n"})
    EXPECT_TRUE(contains(md, std::string(heading) + "\n| Key | Type | Default | Description |\n| --- | --- | --- | --- |\n"));
}

TEST(ConfigKeys, RowsGiveTypeDefaultAndDescription) {
  const std::string md = recipe_key_reference();
  for (const char* row : {
           "| `seed` | integer | `1234` |",
           "| `model.ffn.kind` | enum: swiglu, geglu, sglu, glu, mlp, moe | `swiglu` | channel mixer: swiglu, geglu, sglu",
           "| `model.layout[].pattern` | list of maps (keys below) | `[]` |",
           "| `model.layout[].pattern[].attention.window` | integer | `0` |",
           "| `model.norm.eps` | number | `1.0e-05` |",
           "| `model.attention.rope_scaling` | optional map (keys below) | `null` |",
           "| `model.attention.rope_scaling.factor` | number | `8.0` |",
           "| `model.layer_pattern` | list of enum: softmax, mla, norm_linear, diag_block, lightning, kda, hedgehog_window | `[]` |",
           "| `data.tokenizer` | string or null | `null` |",
           "| `optim.betas` | list of 2 numbers | `[0.9, 0.95]` |",
           "| `optim.no_decay` | list of string | `[norm, bias, embed_tokens]` |",
           "| `train.device` | device: cpu, cuda, cuda:N | `cpu` |",
           "| `train.recompute` | bool | `false` |",
           "| `task` | optional map (keys below) | `null` |",
           "| `task.name` | string | `sst2` |",
       })
    EXPECT_TRUE(contains(md, row));
}
