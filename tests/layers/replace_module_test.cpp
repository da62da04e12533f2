// Module::replace_module on a Decoder: a Linear subclass put in q_proj's place is what the
// attention calls, parameter names stay those of the path (plus the wrapper's own), a
// frozen weight stays frozen, and missing paths, null and mistyped replacements are
// refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <typeinfo>

#include "autograd/ops/elementwise.h"
#include "autograd/ops/matmul.h"
#include "layers/decoder.h"
#include "layers/rms_norm.h"
#include "support/testing.h"
#include "support/tiny_models.h"

using namespace linea;
using namespace linea::testing;

namespace {

// Wraps a Linear: the same weight, plus a low-rank update B A x (LoRA's shape, B zero so the
// output starts equal), counting its calls.
class CountingLoRA : public Linear {
 public:
  explicit CountingLoRA(const Linear& base) : Linear(base.weight(), base.bias()) {
    const int64_t out = base.weight().shape()[0], in = base.weight().shape()[1];
    a_ = register_parameter("lora_A", Variable(Tensor::ones({2, in})));
    b_ = register_parameter("lora_B", Variable(Tensor::zeros({out, 2})));
  }
  Variable forward(const Variable& x) const override {
    ++calls;
    return Linear::forward(x) + linear(linear(x, a_), b_);
  }
  mutable int calls = 0;

 private:
  Variable a_, b_;
};

std::vector<std::string> names(const Module& m) {
  std::vector<std::string> out;
  for (auto& entry : m.named_parameters()) out.push_back(entry.first);
  return out;
}

std::unique_ptr<Decoder> tiny_decoder() {
  auto model = std::make_unique<Decoder>(tiny_decoder_config());
  Generator gen(3);
  model->init_parameters(gen);
  return model;
}

const Linear& linear_at(Module& m, const std::string& path) {
  for (auto& [name, module] : m.named_modules())
    if (name == path) return dynamic_cast<const Linear&>(*module);
  throw InternalError("no module " + path);
}

Tensor ids() { return Tensor::from_vector({1, 5, 7, 2, 9, 4}, {1, 6}, DType::i64); }

}  // namespace

TEST(ReplaceModule, TheOwnerCallsTheReplacementUnderTheSameNames) {
  auto model = tiny_decoder();
  const std::string path = "layers.0.self_attn.q_proj";
  const std::vector<std::string> before = names(*model);
  const Tensor logits = model->forward(ids()).data();
  const Variable weight = model->parameter(path + ".weight");

  auto lora = std::make_shared<CountingLoRA>(linear_at(*model, path));
  const std::shared_ptr<Module> replaced = model->replace_module(path, lora);
  EXPECT_EQ(&linear_at(*model, path), lora.get());
  EXPECT_NE(replaced.get(), lora.get());

  // The same weight Variable under the same name; the wrapper's own parameters follow it.
  EXPECT_EQ(model->parameter(path + ".weight").impl(), weight.impl());
  std::vector<std::string> expected = before;
  expected.insert(std::find(expected.begin(), expected.end(), path + ".weight") + 1, {path + ".lora_A", path + ".lora_B"});
  EXPECT_EQ(names(*model), expected);

  // The attention now calls the wrapper; B = 0 leaves the logits as they were.
  EXPECT_TRUE(all_close(model->forward(ids()).data(), logits, 0, 0));
  EXPECT_EQ(lora->calls, 1);
  // B != 0 moves them: the update really is in the forward.
  Tensor(model->parameter(path + ".lora_B").data()).fill_(0.1);
  EXPECT_FALSE(all_close(model->forward(ids()).data(), logits, 1e-6, 1e-6));
  EXPECT_EQ(lora->calls, 2);
}

TEST(ReplaceModule, AFrozenWeightStaysFrozenAndTheModeCarriesOver) {
  auto model = tiny_decoder();
  const std::string path = "layers.1.mlp.down_proj";
  EXPECT_EQ(model->freeze(path + ".weight"), 1);
  model->eval();
  auto lora = std::make_shared<CountingLoRA>(linear_at(*model, path));
  lora->train();
  model->replace_module(path, lora);
  EXPECT_FALSE(model->parameter(path + ".weight").requires_grad());
  EXPECT_TRUE(model->parameter(path + ".lora_A").requires_grad());
  EXPECT_FALSE(lora->is_training());
}

TEST(ReplaceModule, RefusesMissingPathsNullAndMistypedReplacements) {
  auto model = tiny_decoder();
  auto lora = std::make_shared<CountingLoRA>(linear_at(*model, "layers.0.self_attn.q_proj"));
  expect_error<ConfigError>([&] { model->replace_module("layers.0.self_attn.qproj", lora); },
                            "no submodule 'layers.0.self_attn.qproj'");
  expect_error<ConfigError>([&] { model->replace_module("layers.7.self_attn.q_proj", lora); }, "no '7' on the way");
  expect_error<InternalError>([&] { model->replace_module("layers.0.self_attn.q_proj", nullptr); }, "is null");
  expect_error<InternalError>(
      [&] { model->replace_module("layers.0.self_attn.q_proj", std::make_shared<RMSNorm>(4)); },
      "is not of the type its owner holds it as");
  EXPECT_TRUE(typeid(linear_at(*model, "layers.0.self_attn.q_proj")) == typeid(Linear));  // nothing replaced
}
