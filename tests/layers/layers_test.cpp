// Linear, Embedding, RMSNorm, LayerNorm and the GLU family against direct f64 loops over their
// parameters, plus parameter names and shapes.
#include <gtest/gtest.h>

#include <cmath>

#include "layers/embedding.h"
#include "layers/layer_norm.h"
#include "layers/linear.h"
#include "layers/rms_norm.h"
#include "layers/glu.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

namespace {

// Fills every parameter of m with seeded uniform values (f64).
void randomize(Module& m, uint64_t seed) {
  m.to(Device::cpu(), DType::f64);
  for (auto& [name, v] : m.named_parameters()) v.set_data(random_tensor(v.shape(), seed++, -1.0, 1.0));
}

// Rows of x [N, in] times W^T [out, in] plus b, in plain loops.
std::vector<double> ref_linear(const std::vector<double>& x, int64_t n, const Tensor& w, const Tensor& b) {
  const int64_t out = w.size(0), in = w.size(1);
  std::vector<double> vw = w.to_vector(), vb = b.defined() ? b.to_vector() : std::vector<double>(out, 0.0);
  std::vector<double> y(n * out);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double s = vb[o];
      for (int64_t i = 0; i < in; ++i) s += x[r * in + i] * vw[o * in + i];
      y[r * out + o] = s;
    }
  return y;
}

std::vector<std::string> names(const Module& m) {
  std::vector<std::string> out;
  for (auto& entry : m.named_parameters()) out.push_back(entry.first);
  return out;
}

}  // namespace

TEST(Layers, LinearMatchesDirectComputation) {
  for (bool bias : {true, false}) {
    Linear lin(5, 3, bias);
    EXPECT_EQ(names(lin), bias ? (std::vector<std::string>{"weight", "bias"}) : std::vector<std::string>{"weight"});
    EXPECT_EQ(lin.weight().shape(), (Shape{3, 5}));
    randomize(lin, 1);
    Tensor x = random_tensor({2, 4, 5}, 9);
    Tensor y = lin.forward(Variable(x)).data();
    EXPECT_EQ(y.shape(), (Shape{2, 4, 3}));
    Tensor ref = Tensor::from_vector(ref_linear(x.to_vector(), 8, lin.weight().data(), bias ? lin.bias().data() : Tensor()),
                                     {2, 4, 3}, DType::f64);
    EXPECT_TRUE(all_close(y, ref, 1e-12, 1e-12));
  }
}

TEST(Layers, EmbeddingLooksUpRows) {
  Embedding emb(7, 3);
  EXPECT_EQ(names(emb), std::vector<std::string>{"weight"});
  randomize(emb, 2);
  Tensor ids = Tensor::from_vector({6, 0, 3, 3}, {2, 2}, DType::i64);
  Tensor y = emb.forward(ids).data();
  ASSERT_EQ(y.shape(), (Shape{2, 2, 3}));
  const Tensor& w = emb.weight().data();
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t c = 0; c < 3; ++c) EXPECT_EQ(y.at({i / 2, i % 2, c}), w.at({int64_t(ids.flatten().at({i})), c}));
}

TEST(Layers, RMSNormMatchesDirectComputation) {
  RMSNorm norm(6, 1e-5);
  EXPECT_EQ(norm.weight().data().to_vector(), std::vector<double>(6, 1.0));
  randomize(norm, 3);
  Tensor x = random_tensor({4, 6}, 10);
  Tensor y = norm.forward(Variable(x)).data();
  std::vector<double> vx = x.to_vector(), w = norm.weight().data().to_vector(), ref(24);
  for (int r = 0; r < 4; ++r) {
    double ms = 0;
    for (int c = 0; c < 6; ++c) ms += vx[r * 6 + c] * vx[r * 6 + c] / 6;
    for (int c = 0; c < 6; ++c) ref[r * 6 + c] = vx[r * 6 + c] / std::sqrt(ms + 1e-5) * w[c];
  }
  EXPECT_TRUE(all_close(y, Tensor::from_vector(ref, {4, 6}, DType::f64), 1e-12, 1e-12));
}

TEST(Layers, LayerNormMatchesDirectComputation) {
  LayerNorm norm(6, 1e-5);
  EXPECT_EQ(names(norm), (std::vector<std::string>{"weight", "bias"}));
  EXPECT_EQ(norm.bias().data().to_vector(), std::vector<double>(6, 0.0));
  randomize(norm, 4);
  Tensor x = random_tensor({4, 6}, 11);
  Tensor y = norm.forward(Variable(x)).data();
  std::vector<double> vx = x.to_vector(), w = norm.weight().data().to_vector(), b = norm.bias().data().to_vector(),
                      ref(24);
  for (int r = 0; r < 4; ++r) {
    double mu = 0, var = 0;
    for (int c = 0; c < 6; ++c) mu += vx[r * 6 + c] / 6;
    for (int c = 0; c < 6; ++c) var += (vx[r * 6 + c] - mu) * (vx[r * 6 + c] - mu) / 6;
    for (int c = 0; c < 6; ++c) ref[r * 6 + c] = (vx[r * 6 + c] - mu) / std::sqrt(var + 1e-5) * w[c] + b[c];
  }
  EXPECT_TRUE(all_close(y, Tensor::from_vector(ref, {4, 6}, DType::f64), 1e-12, 1e-12));
  EXPECT_EQ(names(LayerNorm(6, 1e-5, false)), std::vector<std::string>{"weight"});
}

// act(gate_proj x) * up_proj x -> down_proj, for SwiGLU (silu) and the other GLU activations.
TEST(Layers, GLUMatchesDirectComputationForEveryActivation) {
  const std::vector<std::pair<Activation, double (*)(double)>> acts = {
      {Activation::silu, [](double g) { return g / (1 + std::exp(-g)); }},
      {Activation::gelu, [](double g) { return 0.5 * g * (1 + std::erf(g / std::sqrt(2.0))); }},
      {Activation::relu, [](double g) { return g > 0 ? g : 0.0; }},
      {Activation::sigmoid, [](double g) { return 1 / (1 + std::exp(-g)); }},
      {Activation::none, [](double g) { return g; }}};
  for (const auto& [act, f] : acts) {
    GLU mlp(4, 6, act);
    EXPECT_EQ(names(mlp), (std::vector<std::string>{"gate_proj.weight", "up_proj.weight", "down_proj.weight"}));
    randomize(mlp, 5);
    Tensor x = random_tensor({3, 4}, 12);
    Tensor y = mlp.forward(Variable(x)).data();
    std::vector<double> g = ref_linear(x.to_vector(), 3, mlp.gate_proj().weight().data(), Tensor());
    std::vector<double> u = ref_linear(x.to_vector(), 3, mlp.up_proj().weight().data(), Tensor());
    for (size_t i = 0; i < g.size(); ++i) g[i] = f(g[i]) * u[i];
    std::vector<double> ref = ref_linear(g, 3, mlp.down_proj().weight().data(), Tensor());
    EXPECT_TRUE(all_close(y, Tensor::from_vector(ref, {3, 4}, DType::f64), 1e-12, 1e-12)) << int(act);
  }
  // TransNormer v1's GLU: the same with a bias on every projection.
  GLU biased(4, 6, Activation::silu, true);
  EXPECT_EQ(names(biased), (std::vector<std::string>{"gate_proj.weight", "gate_proj.bias", "up_proj.weight",
                                                     "up_proj.bias", "down_proj.weight", "down_proj.bias"}));
  randomize(biased, 7);
  const Tensor x = random_tensor({3, 4}, 13);
  auto bias = [&](const char* name) { return biased.parameter(name).data(); };
  std::vector<double> g = ref_linear(x.to_vector(), 3, biased.gate_proj().weight().data(), bias("gate_proj.bias"));
  const std::vector<double> u = ref_linear(x.to_vector(), 3, biased.up_proj().weight().data(), bias("up_proj.bias"));
  for (size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1 + std::exp(-g[i])) * u[i];
  const std::vector<double> ref = ref_linear(g, 3, biased.down_proj().weight().data(), bias("down_proj.bias"));
  EXPECT_TRUE(all_close(biased.forward(Variable(x)).data(), Tensor::from_vector(ref, {3, 4}, DType::f64), 1e-12, 1e-12));
}
