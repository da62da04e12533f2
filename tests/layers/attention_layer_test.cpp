// CausalSelfAttention and DecoderBlock against direct f64 loops over their parameters:
// projections, rotate-half RoPE (theta^(-2i/D)), grouped-query causal softmax, o_proj.
#include <gtest/gtest.h>

#include <cmath>

#include "core/kernels/rope.h"
#include "layers/decoder_block.h"
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
std::vector<double> ref_attention(const CausalSelfAttention& attn, const Tensor& x, double theta) {
  const int64_t B = x.size(0), T = x.size(1), H = attn.heads(), Hkv = attn.kv_heads(),
                D = attn.head_dim();
  std::vector<double> vx = x.to_vector();
  std::vector<double> q = mat(vx, B * T, attn.q_proj().weight().data());
  std::vector<double> k = mat(vx, B * T, attn.k_proj().weight().data());
  std::vector<double> v = mat(vx, B * T, attn.v_proj().weight().data());
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
  return mat(merged, B * T, attn.o_proj().weight().data());
}

}  // namespace

TEST(AttentionLayer, MatchesDirectComputation) {
  CausalSelfAttention attn(16, 4, 2);
  EXPECT_EQ(attn.head_dim(), 4);
  EXPECT_EQ(attn.k_proj().weight().shape(), (Shape{8, 16}));
  EXPECT_FALSE(attn.q_proj().bias().defined());
  randomize(attn, 1);
  const double theta = 10000.0;
  Tensor x = random_tensor({2, 5, 16}, 20);
  kernels::RopeTables rope = kernels::rope_tables(5, 4, theta, nullptr, Device::cpu());
  Tensor y = attn.forward(Variable(x), rope.cos, rope.sin).data();
  EXPECT_TRUE(all_close(y, Tensor::from_vector(ref_attention(attn, x, theta), {2, 5, 16}, DType::f64), 1e-6, 1e-6));
}

TEST(AttentionLayer, RejectsBadHeadCounts) {
  EXPECT_THROW(CausalSelfAttention(16, 3, 3), ConfigError);  // 3 does not divide 16
  EXPECT_THROW(CausalSelfAttention(16, 4, 3), ConfigError);  // 4 not a multiple of 3
  EXPECT_THROW(CausalSelfAttention(12, 4, 4), ConfigError);  // odd head_dim
}

TEST(DecoderBlockTest, PreNormResidualWiring) {
  DecoderOptions opt;
  opt.hidden = 16;
  opt.heads = 4;
  opt.kv_heads = 2;
  opt.ffn_hidden = 24;
  DecoderBlock block(opt);
  std::vector<std::string> names;
  for (auto& entry : block.named_parameters()) names.push_back(entry.first);
  EXPECT_EQ(names, (std::vector<std::string>{
                       "input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight",
                       "self_attn.v_proj.weight", "self_attn.o_proj.weight", "post_attention_layernorm.weight",
                       "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight"}));
  randomize(block, 3);
  Tensor x = random_tensor({2, 5, 16}, 21);
  kernels::RopeTables rope = kernels::rope_tables(5, 4, opt.rope_theta, nullptr, Device::cpu());
  Tensor y = block.forward(Variable(x), rope.cos, rope.sin).data();
  // h = x + attn(norm1(x)), y = h + mlp(norm2(h)), composed from the separately tested layers.
  Tensor a = block.self_attn().forward(block.input_layernorm().forward(Variable(x)), rope.cos, rope.sin).data();
  std::vector<double> h = x.to_vector(), va = a.to_vector();
  for (size_t i = 0; i < h.size(); ++i) h[i] += va[i];
  Tensor th = Tensor::from_vector(h, {2, 5, 16}, DType::f64);
  std::vector<double> m = block.mlp().forward(block.post_attention_layernorm().forward(Variable(th))).data().to_vector();
  for (size_t i = 0; i < h.size(); ++i) h[i] += m[i];
  EXPECT_TRUE(all_close(y, Tensor::from_vector(h, {2, 5, 16}, DType::f64), 1e-12, 1e-12));
}
