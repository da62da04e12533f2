// Typo suggestions and the shape of located messages.
#include <gtest/gtest.h>

#include "configs/config_error.h"
#include "core/error.h"

using namespace linea;

TEST(ConfigError, ClosestNameSuggestsOnlyPlausibleTypos) {
  std::vector<std::string> keys = {"kind", "lr", "betas", "eps", "weight_decay", "grad_clip", "momentum"};
  EXPECT_EQ(closest_name("lrr", keys), "lr");
  EXPECT_EQ(closest_name("weightdecay", keys), "weight_decay");
  EXPECT_EQ(closest_name("beta", keys), "betas");
  EXPECT_EQ(closest_name("gradient_clip", keys), "grad_clip");
  EXPECT_EQ(closest_name("learning_rate", keys), "");
  EXPECT_EQ(closest_name("optimizer", {"seed", "model", "optim"}), "optim");
  EXPECT_EQ(closest_name("x", {}), "");
}

TEST(ConfigError, MessagesAreOneLocatedLine) {
  try {
    throw_config_error({"r.yaml", 3, 7}, "optim.lr", "expected a number, got 'fast'");
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "r.yaml:3:7: optim.lr: expected a number, got 'fast'");
  }
  try {
    throw_config_error({"--set a=1"}, "", "expected key=value");
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "--set a=1: expected key=value");
  }
  EXPECT_EQ(expected_one_of({"fp32", "bf16"}, "bf61"), "expected one of fp32, bf16, got 'bf61' (did you mean 'bf16'?)");
}
