// LoRA adapters (layers/lora_linear.h): they start as the base Linear (B = 0), gradcheck
// through x, A, B and the base weight, replace the named projections of every layer under the
// base's names (PEFT's lora_A / lora_B beside them), and a target a layer lacks is an error
// naming model.lora.targets. Merged export == unmerged outputs is in hf_transfer_test.cpp.
#include <gtest/gtest.h>

#include "autograd/gradcheck.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "layers/decoder.h"
#include "layers/lora_linear.h"
#include "support/module_gradcheck.h"
#include "support/testing.h"
#include "support/tiny_models.h"

using namespace linea;
using namespace linea::testing;

TEST(Lora, StartsAsTheBaseAndGradchecks) {
  Linear base(6, 5, true, Device::cpu(), DType::f64);
  Variable(base.weight()).set_data(random_tensor({5, 6}, 1));
  Variable(base.bias()).set_data(random_tensor({5}, 2));
  LoraLinear lora(base, LoraConfig{3, 6.0, 0.0, {}});
  Generator gen(3);
  lora.reset_lora(gen);
  const Tensor x = random_tensor({4, 6}, 4);
  EXPECT_TRUE(all_close(lora.forward(Variable(x)).data(), base.forward(Variable(x)).data(), 0, 0)) << "B starts at 0";
  EXPECT_TRUE(lora.weight().data().shares_storage(base.weight().data())) << "the base weight is the original's";
  lora.parameter("lora_B").set_data(random_tensor({5, 3}, 5));
  const Tensor w = random_tensor({4, 5}, 6);
  GradcheckResult r = module_gradcheck(lora, {"weight", "bias", "lora_A", "lora_B"}, [&] {
    return sum(mul(lora.forward(Variable(x)), Variable(w)));
  });
  EXPECT_TRUE(r.ok) << r.message;
  // The update is (alpha / r) B A: the merged weight gives the same outputs.
  Linear merged(6, 5, true, Device::cpu(), DType::f64);
  Variable(merged.weight()).set_data(lora.merged_weight());
  Variable(merged.bias()).set_data(base.bias().data());
  EXPECT_TRUE(all_close(merged.forward(Variable(x)).data(), lora.forward(Variable(x)).data(), 1e-14, 1e-14));
}

TEST(Lora, ReplacesEveryLayersTargetsUnderTheirNames) {
  ModelConfig m = tiny_decoder_config();
  m.lora = LoraConfig{2, 4.0, 0.0, {"q_proj", "v_proj"}};
  Decoder model(m);
  std::vector<std::string> lora_names;
  for (const auto& [n, p] : model.named_parameters())
    if (n.find("lora_") != std::string::npos) lora_names.push_back(n);
  EXPECT_EQ(lora_names, (std::vector<std::string>{"layers.0.self_attn.q_proj.lora_A", "layers.0.self_attn.q_proj.lora_B",
                                                  "layers.0.self_attn.v_proj.lora_A", "layers.0.self_attn.v_proj.lora_B",
                                                  "layers.1.self_attn.q_proj.lora_A", "layers.1.self_attn.q_proj.lora_B",
                                                  "layers.1.self_attn.v_proj.lora_A", "layers.1.self_attn.v_proj.lora_B"}));
  EXPECT_EQ(model.parameter("layers.1.self_attn.v_proj.lora_B").shape(), (Shape{8, 2}));  // 2 KV heads of 4
  Generator gen(7);
  model.init_parameters(gen);
  double a = 0, b = 0;  // A drawn, B zero
  for (double v : model.parameter("layers.0.self_attn.q_proj.lora_A").data().to_vector()) a += std::abs(v);
  for (double v : model.parameter("layers.0.self_attn.q_proj.lora_B").data().to_vector()) b += std::abs(v);
  EXPECT_GT(a, 0);
  EXPECT_EQ(b, 0);

  m.lora->targets = {"q_proj", "qkv_proj"};
  expect_error<ConfigError>([&] { Decoder bad(m); },
                            "model.lora.targets: layer 0's token mixer has no projection 'qkv_proj'");
}
