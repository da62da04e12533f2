// SoftmaxAttention and Block against direct f64 loops over their parameters: projections,
// rotate-half RoPE (theta^(-2i/D)), grouped-query causal softmax, o_proj; pre- and post-norm
// residual wiring.
#include <gtest/gtest.h>

#include <cmath>

#include "core/kernels/rope.h"
#include "layers/block.h"
#include "layers/softmax_attention.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

namespace {

void randomize(Module& m, uint64_t seed) {
  m.to(Device::cpu(), DType::f64);
  for (auto& [name, v] : m.named_parameters()) v.set_data(random_tensor(v.shape(), seed++, -0.5, 0.5));
}

// x [N, in] W^T -> [N, out].
std::vector<double> mat(const std::vector<double>& x, int64_t n, const Tensor& w) {
  const int64_t out = w.size(0), in = w.size(1);
  std::vector<double> vw = w.to_vector(), y(n * out, 0.0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t o = 0; o < out; ++o)
      for (int64_t i = 0; i < in; ++i) y[r * out + o] += x[r * in + i] * vw[o * in + i];
  return y;
}

// The whole attention layer for x [B,T,C] in plain loops.
std::vector<double> ref_attention(const SoftmaxAttention& attn, const ModelConfig& m, const Tensor& x, double theta) {
  const int64_t B = x.size(0), T = x.size(1), H = m.heads, Hkv = m.kv_heads, D = m.head_dim();
  std::vector<double> vx = x.to_vector();
  std::vector<double> q = mat(vx, B * T, attn.parameter("q_proj.weight").data());
  std::vector<double> k = mat(vx, B * T, attn.parameter("k_proj.weight").data());
  std::vector<double> v = mat(vx, B * T, attn.parameter("v_proj.weight").data());
  // Rotate pairs (i, i + D/2) of every head of q ([B*T, H*D]) and k ([B*T, Hkv*D]).
  auto rotate = [&](std::vector<double>& y, int64_t heads) {
    for (int64_t r = 0; r < B * T; ++r)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t i = 0; i < D / 2; ++i) {
          const double angle = double(r % T) * std::pow(theta, -2.0 * double(i) / double(D));
          double& a = y[(r * heads + h) * D + i];
          double& b = y[(r * heads + h) * D + i + D / 2];
          const double a0 = a, b0 = b;
          a = a0 * std::cos(angle) - b0 * std::sin(angle);
          b = b0 * std::cos(angle) + a0 * std::sin(angle);
        }
  };
  rotate(q, H);
  rotate(k, Hkv);
  std::vector<double> merged(B * T * H * D, 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t g = h / (H / Hkv);
      for (int64_t t = 0; t < T; ++t) {
        std::vector<double> p(t + 1);
        double mx = -INFINITY, z = 0;
        for (int64_t s = 0; s <= t; ++s) {
          double dot = 0;
          for (int64_t d = 0; d < D; ++d) dot += q[((b * T + t) * H + h) * D + d] * k[((b * T + s) * Hkv + g) * D + d];
          p[s] = dot / std::sqrt(double(D));
          mx = std::max(mx, p[s]);
        }
        for (double& e : p) z += (e = std::exp(e - mx));
        for (int64_t s = 0; s <= t; ++s)
          for (int64_t d = 0; d < D; ++d)
            merged[((b * T + t) * H + h) * D + d] += p[s] / z * v[((b * T + s) * Hkv + g) * D + d];
      }
    }
  return mat(merged, B * T, attn.parameter("o_proj.weight").data());
}

ModelConfig attention_config(int64_t hidden, int64_t heads, int64_t kv_heads) {
  ModelConfig m;
  m.hidden = hidden;
  m.heads = heads;
  m.kv_heads = kv_heads;
  m.ffn.hidden = 24;
  return m;
}

SequenceContext full_rows(int64_t B, int64_t T, PositionTables& positions) {
  SequenceContext ctx;
  ctx.B = B;
  ctx.T = T;
  ctx.positions = &positions;
  return ctx;
}

}  // namespace

TEST(AttentionLayer, MatchesDirectComputation) {
  const ModelConfig m = attention_config(16, 4, 2);
  SoftmaxAttention attn(m.attention, m, HfLayout::llama, Device::cpu(), DType::f32);
  EXPECT_EQ(attn.parameter("k_proj.weight").shape(), (Shape{8, 16}));
  EXPECT_EQ(attn.output_projection().weight().data().data_ptr(), attn.parameter("o_proj.weight").data().data_ptr());
  randomize(attn, 1);
  Tensor x = random_tensor({2, 5, 16}, 20);
  PositionTables positions;
  Tensor y = attn.forward(Variable(x.reshape({10, 16})), full_rows(2, 5, positions)).data();
  EXPECT_TRUE(all_close(y, Tensor::from_vector(ref_attention(attn, m, x, m.attention.rope_theta), {10, 16}, DType::f64),
                        1e-6, 1e-6));
}

TEST(AttentionLayer, RejectsBadHeadCounts) {
  auto build = [](int64_t hidden, int64_t heads, int64_t kv_heads) {
    const ModelConfig m = attention_config(hidden, heads, kv_heads);
    SoftmaxAttention(m.attention, m, HfLayout::llama, Device::cpu(), DType::f32);
  };
  EXPECT_THROW(build(16, 3, 3), ConfigError);  // 3 does not divide 16
  EXPECT_THROW(build(16, 4, 3), ConfigError);  // 4 not a multiple of 3
  EXPECT_THROW(build(12, 4, 4), ConfigError);  // odd head_dim with RoPE
}

TEST(BlockTest, PreNormResidualWiring) {
  const ModelConfig m = attention_config(16, 4, 2);
  Block block(LayerSpec{m.attention, m.ffn}, m, 0, HfLayout::llama, Device::cpu(), DType::f32);
  std::vector<std::string> names;
  for (auto& entry : block.named_parameters()) names.push_back(entry.first);
  EXPECT_EQ(names, (std::vector<std::string>{
                       "input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight",
                       "self_attn.v_proj.weight", "self_attn.o_proj.weight", "post_attention_layernorm.weight",
                       "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight"}));
  randomize(block, 3);
  Tensor x = random_tensor({10, 16}, 21);
  PositionTables positions;
  const SequenceContext ctx = full_rows(2, 5, positions);
  Tensor y = block.forward(Variable(x), ctx).data();
  // h = x + attn(norm1(x)), y = h + mlp(norm2(h)), composed from the separately tested layers.
  Tensor a = block.mixer().forward(block.mixer_norm().forward(Variable(x)), ctx).data();
  std::vector<double> h = x.to_vector(), va = a.to_vector();
  for (size_t i = 0; i < h.size(); ++i) h[i] += va[i];
  Tensor th = Tensor::from_vector(h, {10, 16}, DType::f64);
  std::vector<double> f = block.ffn().forward(block.ffn_norm().forward(Variable(th))).data().to_vector();
  for (size_t i = 0; i < h.size(); ++i) h[i] += f[i];
  EXPECT_TRUE(all_close(y, Tensor::from_vector(h, {10, 16}, DType::f64), 1e-12, 1e-12));
}

TEST(BlockTest, PostNormNormalizesEachResidualSum) {
  ModelConfig m = attention_config(16, 4, 2);
  m.norm = {NormKind::simple_rmsnorm, 1e-6, NormPosition::post};
  m.ffn = {FfnKind::sglu, 24, Activation::silu};
  Block block(LayerSpec{m.attention, m.ffn}, m, 0, HfLayout::llama, Device::cpu(), DType::f32);
  // simple_rmsnorm has no weight; the post-norm block registers each norm after its mixer.
  std::vector<std::string> names;
  for (auto& entry : block.named_parameters()) names.push_back(entry.first);
  EXPECT_EQ(names, (std::vector<std::string>{"self_attn.q_proj.weight", "self_attn.k_proj.weight",
                                             "self_attn.v_proj.weight", "self_attn.o_proj.weight",
                                             "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight"}));
  randomize(block, 4);
  Tensor x = random_tensor({10, 16}, 22);
  PositionTables positions;
  const SequenceContext ctx = full_rows(2, 5, positions);
  Tensor y = block.forward(Variable(x), ctx).data();
  // x / sqrt(mean(x^2) + eps) per row.
  auto simple_rms = [](std::vector<double> v) {
    for (size_t r = 0; r < v.size() / 16; ++r) {
      double ms = 0;
      for (size_t c = 0; c < 16; ++c) ms += v[r * 16 + c] * v[r * 16 + c] / 16;
      for (size_t c = 0; c < 16; ++c) v[r * 16 + c] /= std::sqrt(ms + 1e-6);
    }
    return v;
  };
  std::vector<double> h = x.to_vector(), a = block.mixer().forward(Variable(x), ctx).data().to_vector();
  for (size_t i = 0; i < h.size(); ++i) h[i] += a[i];
  h = simple_rms(h);
  // SGLU: no activation on the gate.
  std::vector<double> g = mat(h, 10, block.ffn().parameter("gate_proj.weight").data()),
                      u = mat(h, 10, block.ffn().parameter("up_proj.weight").data());
  for (size_t i = 0; i < g.size(); ++i) g[i] *= u[i];
  std::vector<double> f = mat(g, 10, block.ffn().parameter("down_proj.weight").data());
  for (size_t i = 0; i < h.size(); ++i) h[i] += f[i];
  EXPECT_TRUE(all_close(y, Tensor::from_vector(simple_rms(h), {10, 16}, DType::f64), 1e-10, 1e-10));
}
