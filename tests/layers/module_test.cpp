// Module: dotted names in registration order, buffers, modes, freeze/unfreeze patterns,
// to(device, dtype) keeping Variable identity, the duplicate-name errors, and the
// after_step hooks.
#include <gtest/gtest.h>

#include "autograd/ops/elementwise.h"
#include "core/dist/single_rank_communicator.h"
#include "layers/linear.h"
#include "layers/module_list.h"
#include "layers/rms_norm.h"
#include "support/testing.h"

using namespace linea;

namespace {

struct Block : Module {
  Block() {
    register_module("attn", std::make_shared<Linear>(4, 3, true));
    register_buffer("steps", Tensor::zeros({2}, DType::i64));
    register_module("norm", std::make_shared<RMSNorm>(3));
  }
};

struct Net : Module {
  Net() {
    register_parameter("scale", Variable(Tensor::ones({1})));
    auto list = register_module("layers", std::make_shared<ModuleList<Block>>());
    list->append(std::make_shared<Block>());
    list->append(std::make_shared<Block>());
    register_buffer("table", Tensor::ones({3}));
  }
};

std::vector<std::string> names(const Module& m) {
  std::vector<std::string> out;
  for (auto& entry : m.named_parameters()) out.push_back(entry.first);
  return out;
}

}  // namespace

TEST(Module, DottedNamesInRegistrationOrder) {
  Net net;
  EXPECT_EQ(names(net), (std::vector<std::string>{"scale", "layers.0.attn.weight", "layers.0.attn.bias",
                                                  "layers.0.norm.weight", "layers.1.attn.weight",
                                                  "layers.1.attn.bias", "layers.1.norm.weight"}));
  std::vector<std::string> buffers;
  for (auto& entry : net.named_buffers()) buffers.push_back(entry.first);
  EXPECT_EQ(buffers, (std::vector<std::string>{"table", "layers.0.steps", "layers.1.steps"}));
  EXPECT_EQ(net.num_parameters(), 1 + 2 * (12 + 3 + 3));
  EXPECT_EQ(net.parameters().size(), 7u);
  EXPECT_EQ(net.parameter("layers.1.attn.weight").shape(), (Shape{3, 4}));
  EXPECT_TRUE(net.parameter("scale").requires_grad());
  EXPECT_THROW(net.parameter("layers.2.attn.weight"), InternalError);
}

TEST(Module, SharedVariableListedOnce) {
  Module m;
  Variable w(Tensor::ones({2}));
  m.register_parameter("a", w);
  auto child = m.register_module("child", std::make_shared<Module>());
  child->register_parameter("tied", w);
  EXPECT_EQ(names(m), (std::vector<std::string>{"a"}));
  EXPECT_EQ(m.num_parameters(), 2);
}

TEST(Module, DuplicateAndInvalidNamesThrow) {
  Module m;
  m.register_parameter("w", Variable(Tensor::ones({2})));
  EXPECT_THROW(m.register_parameter("w", Variable(Tensor::ones({2}))), InternalError);
  EXPECT_THROW(m.register_buffer("w", Tensor::ones({2})), InternalError);
  EXPECT_THROW(m.register_module("w", std::make_shared<Module>()), InternalError);
  EXPECT_THROW(m.register_parameter("a.b", Variable(Tensor::ones({2}))), InternalError);
  EXPECT_THROW(m.register_parameter("", Variable(Tensor::ones({2}))), InternalError);
  try {
    m.register_parameter("w", Variable(Tensor::ones({2})));
  } catch (const InternalError& e) {
    EXPECT_NE(std::string(e.what()).find("'w' is already registered"), std::string::npos) << e.what();
  }
}

TEST(Module, TrainEvalIsRecursive) {
  Net net;
  auto modules = net.named_modules();
  ASSERT_EQ(modules.size(), 1u + 1 + 2 * 3);
  EXPECT_EQ(modules[3].first, "layers.0.attn");
  net.eval();
  for (auto& [name, m] : modules) EXPECT_FALSE(m->is_training()) << name;
  net.train();
  for (auto& [name, m] : modules) EXPECT_TRUE(m->is_training()) << name;
}

TEST(Module, GlobMatch) {
  EXPECT_TRUE(glob_match("*", "layers.0.attn.weight"));
  EXPECT_TRUE(glob_match("layers.*.attn.*", "layers.10.attn.bias"));
  EXPECT_TRUE(glob_match("*norm.weight", "layers.0.norm.weight"));
  EXPECT_TRUE(glob_match("a*b*c", "aXbYbZc"));
  EXPECT_FALSE(glob_match("layers.*.attn", "layers.0.attn.weight"));  // must cover the whole name
  EXPECT_FALSE(glob_match("scale", "scales"));
  EXPECT_FALSE(glob_match("a*b*c", "aXbYbZ"));
}

TEST(Module, FreezeAndUnfreezePatterns) {
  Net net;
  EXPECT_EQ(net.freeze("layers.*.attn.*"), 4);
  for (auto& [name, v] : net.named_parameters())
    EXPECT_EQ(v.requires_grad(), !glob_match("layers.*.attn.*", name)) << name;
  EXPECT_EQ(net.num_parameters(true), 1 + 2 * 3);
  EXPECT_EQ(net.unfreeze("layers.1.*"), 3);
  EXPECT_TRUE(net.parameter("layers.1.attn.weight").requires_grad());
  EXPECT_FALSE(net.parameter("layers.0.attn.weight").requires_grad());
  EXPECT_THROW(net.freeze("layer.*"), ConfigError);  // a typo matches nothing

  // A frozen parameter gets no gradient from backward.
  net.freeze("*");
  net.unfreeze("scale");
  Variable scale = net.parameter("scale");
  Variable w = net.parameter("layers.0.attn.weight");
  (w * scale).backward(Tensor::ones({3, 4}));
  EXPECT_TRUE(scale.grad().defined());
  EXPECT_FALSE(w.grad().defined());
}

TEST(Module, ToConvertsInPlaceKeepingIdentity) {
  Net net;
  Variable w = net.parameter("layers.0.attn.weight");
  w.set_grad(Tensor::ones({3, 4}));
  net.to(Device::cpu(), DType::f64);
  EXPECT_EQ(w.dtype(), DType::f64);  // the old handle sees the conversion
  EXPECT_EQ(w.grad().dtype(), DType::f64);
  EXPECT_EQ(net.parameter("layers.0.attn.weight").impl(), w.impl());
  for (auto& [name, v] : net.named_parameters()) EXPECT_EQ(v.dtype(), DType::f64) << name;
  EXPECT_EQ(net.buffer("table").dtype(), DType::f64);
  EXPECT_EQ(net.buffer("layers.1.steps").dtype(), DType::i64);  // integer buffers keep their dtype
  EXPECT_TRUE(w.requires_grad());
  net.zero_grad();
  EXPECT_FALSE(w.grad().defined());
}

namespace {
// Records the order in which after_step reaches modules.
struct Recorder : Module {
  Recorder(std::string name, std::vector<std::string>* log) : name_(std::move(name)), log_(log) {}
  void after_step(const StepEnd& step) override { log_->push_back(name_ + "@" + std::to_string(step.step)); }
  std::string name_;
  std::vector<std::string>* log_;
};
}  // namespace

TEST(Module, AfterStepReachesEveryOverridingModuleParentsFirst) {
  std::vector<std::string> log;
  Recorder root("root", &log);
  auto list = root.register_module("layers", std::make_shared<ModuleList<Module>>());  // no hook: skipped
  auto first = list->append(std::make_shared<Recorder>("first", &log));
  first->register_module("inner", std::make_shared<Recorder>("inner", &log));
  list->append(std::make_shared<Recorder>("second", &log));
  SingleRankCommunicator comm;
  root.run_after_step(StepEnd{7, comm});
  EXPECT_EQ(log, (std::vector<std::string>{"root@7", "first@7", "inner@7", "second@7"}));
}
