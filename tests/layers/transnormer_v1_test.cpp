// TransNormer v1's token mixers against dense f64 loops over their parameters
// (specs/transnormer.md §1.2-1.3): diag_block (softmax T2 and ReLU T1, causal and
// bidirectional, sequences cut into blocks that restart at every packed sequence) and
// norm_linear (φ = elu / 1 + elu, causal (Q Kᵀ ⊙ M) V and bidirectional Q (Kᵀ V)), then
// gradchecks of each, URPE, and the v1 layout (first half diag_block, second half
// norm_linear, URPE on both).
// Decoding against the full forward is in decoding_test.cpp.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "layers/decoder.h"
#include "layers/diag_block_attention.h"
#include "layers/linear_attention.h"
#include "layers/urpe.h"
#include "support/module_gradcheck.h"
#include "support/testing.h"
#include "support/tiny_models.h"

using namespace linea;
using namespace linea::testing;

namespace {

constexpr int64_t C = 8, H = 2, D = 4;
constexpr double kEps = 1e-6;

ModelConfig mixer_model(ModelKind kind) {
  ModelConfig m;
  m.kind = kind;
  m.hidden = C;
  m.heads = H;
  m.kv_heads = H;
  m.norm.eps = kEps;
  return m;
}

void randomize(Module& m, uint64_t seed) {
  for (auto& [name, v] : m.named_parameters()) v.set_data(random_tensor(v.shape(), seed++, -0.5, 0.5));
}

// y = x Wᵀ + b for rows x [n, in].
std::vector<double> affine(const std::vector<double>& x, int64_t n, const Module& mod, const std::string& name) {
  const std::vector<double> w = mod.parameter(name + ".weight").data().to_vector(),
                            b = mod.parameter(name + ".bias").data().to_vector();
  const int64_t out = int64_t(b.size()), in = int64_t(w.size()) / out;
  std::vector<double> y(size_t(n * out));
  for (int64_t r = 0; r < n; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double acc = b[size_t(o)];
      for (int64_t i = 0; i < in; ++i) acc += x[size_t(r * in + i)] * w[size_t(o * in + i)];
      y[size_t(r * out + o)] = acc;
    }
  return y;
}

struct Seq {
  int64_t start, length;
};

// The mixer's output for rows x [N, C]: weight(i, j, h) says how row i's query uses row j's
// value in head h (0 where it may not), computed from the projected q, k.
template <class Weights>
Tensor dense(const Module& mod, const Tensor& x, bool normed, Weights weights) {
  const int64_t N = x.size(0);
  const std::vector<double> qkv = affine(x.to_vector(), N, mod, "qkv_proj");
  std::vector<double> o(size_t(N * C), 0.0);
  for (int64_t h = 0; h < H; ++h)
    for (int64_t i = 0; i < N; ++i) {
      const std::vector<double> w = weights(qkv, i, h);  // [N]
      for (int64_t j = 0; j < N; ++j)
        for (int64_t e = 0; e < D; ++e) o[size_t(i * C + h * D + e)] += w[size_t(j)] * qkv[size_t(j * 3 * C + 2 * C + h * D + e)];
    }
  if (normed)
    for (int64_t i = 0; i < N; ++i) {
      double ms = 0;
      for (int64_t c = 0; c < C; ++c) ms += o[size_t(i * C + c)] * o[size_t(i * C + c)] / C;
      for (int64_t c = 0; c < C; ++c) o[size_t(i * C + c)] /= std::sqrt(ms + kEps);
    }
  return Tensor::from_vector(affine(o, N, mod, "out_proj"), {N, C}, DType::f64);
}

double dot(const std::vector<double>& qkv, int64_t i, int64_t which_i, int64_t j, int64_t which_j, int64_t h,
           double (*phi)(double)) {
  double s = 0;
  for (int64_t e = 0; e < D; ++e)
    s += phi(qkv[size_t(i * 3 * C + which_i * C + h * D + e)]) * phi(qkv[size_t(j * 3 * C + which_j * C + h * D + e)]);
  return s;
}

double identity(double v) { return v; }
double elu(double v) { return v > 0 ? v : std::expm1(v); }
double elu_plus_one(double v) { return 1 + elu(v); }

const Seq* sequence_of(const std::vector<Seq>& seqs, int64_t row) {
  for (const Seq& s : seqs)
    if (row >= s.start && row < s.start + s.length) return &s;
  return nullptr;
}

Tensor dense_diag(const Module& mod, const Tensor& x, const std::vector<Seq>& seqs, bool causal, int64_t w,
                  BlockScores scores) {
  const int64_t N = x.size(0);
  return dense(mod, x, scores == BlockScores::relu, [&](const std::vector<double>& qkv, int64_t i, int64_t h) {
    std::vector<double> p(size_t(N), 0.0);
    const Seq* s = sequence_of(seqs, i);
    if (!s) return p;
    std::vector<bool> seen(size_t(N), false);
    double mx = -INFINITY;
    for (int64_t j = s->start; j < s->start + s->length; ++j) {
      seen[size_t(j)] = (j - s->start) / w == (i - s->start) / w && (!causal || j <= i);
      if (!seen[size_t(j)]) continue;
      p[size_t(j)] = dot(qkv, i, 0, j, 1, h, identity) / std::sqrt(double(D));
      mx = std::max(mx, p[size_t(j)]);
    }
    double z = 0;
    for (int64_t j = 0; j < N; ++j) {
      if (!seen[size_t(j)]) p[size_t(j)] = 0;
      else if (scores == BlockScores::relu) p[size_t(j)] = std::max(0.0, p[size_t(j)]);
      else z += (p[size_t(j)] = std::exp(p[size_t(j)] - mx));
    }
    if (scores == BlockScores::softmax)
      for (double& e : p) e /= z;
    return p;
  });
}

Tensor dense_norm_linear(const Module& mod, const Tensor& x, const std::vector<Seq>& seqs, bool causal,
                         double (*phi)(double)) {
  const int64_t N = x.size(0);
  return dense(mod, x, true, [&](const std::vector<double>& qkv, int64_t i, int64_t h) {
    std::vector<double> p(size_t(N), 0.0);
    if (const Seq* s = sequence_of(seqs, i))
      for (int64_t j = s->start; j < s->start + s->length; ++j)
        if (!causal || j <= i) p[size_t(j)] = dot(qkv, i, 0, j, 1, h, phi);
    return p;
  });
}

// Causal: two batch entries of 11 rows; bidirectional: packed sequences of 7 and 10 rows, 2 of padding.
struct Layout {
  SequenceContext ctx;
  std::vector<Seq> seqs;
};

Layout layout(bool causal) {
  Layout l;
  if (causal) {
    l.ctx.B = 2;
    l.ctx.T = 11;
    l.seqs = {{0, 11}, {11, 11}};
  } else {
    l.ctx.B = 1;
    l.ctx.T = 19;
    l.ctx.segments = kernels::AttentionSegments::packed({0, 7, 17});
    l.seqs = {{0, 7}, {7, 10}};
  }
  return l;
}

TEST(DiagBlock, EqualsDenseBlockDiagonalAttention) {
  for (bool causal : {true, false})
    for (BlockScores scores : {BlockScores::softmax, BlockScores::relu}) {
      AttentionConfig a;
      a.kind = AttentionKind::diag_block;
      a.positions = PositionKind::none;
      a.block = 4;
      a.scores = scores;
      DiagBlockAttention mixer(a, mixer_model(causal ? ModelKind::decoder : ModelKind::encoder), 0, Device::cpu(),
                               DType::f64);
      randomize(mixer, 71);
      const Layout l = layout(causal);
      const Tensor x = random_tensor({l.ctx.B * l.ctx.T, C}, 72);
      const Tensor got = mixer.forward(Variable(x), l.ctx).data();
      EXPECT_TRUE(all_close(got, dense_diag(mixer, x, l.seqs, causal, 4, scores), 1e-12, 1e-12))
          << (causal ? "causal " : "bidirectional ") << int(scores);
    }
}

TEST(NormLinear, EqualsDenseUnnormalizedLinearAttention) {
  for (bool causal : {true, false})
    for (Activation phi : {Activation::elu, Activation::elu_plus_one}) {
      AttentionConfig a;
      a.kind = AttentionKind::norm_linear;
      a.positions = PositionKind::none;
      a.feature_map = phi;
      LinearAttention mixer(a, mixer_model(causal ? ModelKind::decoder : ModelKind::encoder), 0, Device::cpu(),
                            DType::f64);
      randomize(mixer, 81);
      const Layout l = layout(causal);
      const Tensor x = random_tensor({l.ctx.B * l.ctx.T, C}, 82);
      const Tensor got = mixer.forward(Variable(x), l.ctx).data();
      const Tensor want = dense_norm_linear(mixer, x, l.seqs, causal, phi == Activation::elu ? elu : elu_plus_one);
      EXPECT_TRUE(all_close(got, want, 1e-12, 1e-12)) << (causal ? "causal " : "bidirectional ") << int(phi);
    }
}

// Gradients of both mixers, every parameter, bidirectional and packed.
TEST(TransNormerV1, MixersGradcheck) {
  const Layout l = layout(false);
  const Tensor x = random_tensor({l.ctx.B * l.ctx.T, C}, 91);
  const Tensor weights = random_tensor({l.ctx.B * l.ctx.T, C}, 92);
  AttentionConfig diag;
  diag.kind = AttentionKind::diag_block;
  diag.positions = PositionKind::none;
  diag.block = 4;
  AttentionConfig norm = diag;
  norm.kind = AttentionKind::norm_linear;
  norm.feature_map = Activation::elu_plus_one;
  for (BlockScores scores : {BlockScores::softmax, BlockScores::relu}) {
    diag.scores = scores;
    DiagBlockAttention mixer(diag, mixer_model(ModelKind::encoder), 0, Device::cpu(), DType::f64);
    randomize(mixer, 93);
    GradcheckResult r = module_gradcheck(mixer, {"qkv_proj.weight", "qkv_proj.bias", "out_proj.weight"}, [&] {
      return sum(mul(mixer.forward(Variable(x), l.ctx), Variable(weights)));
    });
    EXPECT_TRUE(r.ok) << int(scores) << ": " << r.message;
  }
  LinearAttention mixer(norm, mixer_model(ModelKind::encoder), 0, Device::cpu(), DType::f64);
  randomize(mixer, 94);
  GradcheckResult r = module_gradcheck(mixer, {"qkv_proj.weight", "qkv_proj.bias", "out_proj.bias"}, [&] {
    return sum(mul(mixer.forward(Variable(x), l.ctx), Variable(weights)));
  });
  EXPECT_TRUE(r.ok) << r.message;
}

// URPE: orthogonal (norms kept) and relative (shifting both positions keeps every q · k); its
// reflection vector is a unit vector fixed by the layer; gradcheck through x and θ.
TEST(Urpe, IsOrthogonalRelativeAndGradchecks) {
  Urpe urpe(6, 2, Device::cpu(), DType::f64);
  const Tensor v = urpe.buffer("householder_v");
  EXPECT_EQ(v.to_vector(), Urpe(6, 2, Device::cpu(), DType::f64).buffer("householder_v").to_vector());
  EXPECT_NE(v.to_vector(), Urpe(6, 3, Device::cpu(), DType::f64).buffer("householder_v").to_vector());
  double norm = 0;
  for (double e : v.to_vector()) norm += e * e;
  EXPECT_NEAR(norm, 1.0, 1e-15);
  const Tensor x = random_tensor({5, 2, 6}, 101), y = random_tensor({5, 2, 6}, 102);
  auto positions = [](std::vector<double> p) { return Variable(Tensor::from_vector(p, {5, 1, 1}, DType::f64)); };
  const Variable p0 = positions({0, 1, 2, 3, 9}), p1 = positions({7, 8, 9, 10, 16});
  const Tensor a0 = urpe.forward(Variable(x), p0).data(), a1 = urpe.forward(Variable(x), p1).data();
  const Tensor b0 = urpe.forward(Variable(y), p0).data(), b1 = urpe.forward(Variable(y), p1).data();
  auto dot = [](const Tensor& a, int64_t i, const Tensor& b, int64_t j) {
    double s = 0;
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t c = 0; c < 6; ++c) s += a.at({i, h, c}) * b.at({j, h, c});
    return s;
  };
  for (int64_t i = 0; i < 5; ++i) {
    EXPECT_NEAR(dot(a0, i, a0, i), dot(x, i, x, i), 1e-12) << i;
    for (int64_t j = 0; j < 5; ++j) EXPECT_NEAR(dot(a0, i, b0, j), dot(a1, i, b1, j), 1e-12) << i << " " << j;
  }
  EXPECT_GT(std::abs(dot(a0, 0, b0, 4) - dot(a0, 0, b0, 3)), 1e-3);  // positions do matter
  const Tensor w = random_tensor({5, 2, 6}, 103);
  GradcheckResult r = module_gradcheck(urpe, {"theta"}, [&] { return sum(mul(urpe.forward(Variable(x), p0), Variable(w))); });
  EXPECT_TRUE(r.ok) << r.message;
  LINEA_EXPECT_GRADCHECK([&](const std::vector<Variable>& in) { return sum(mul(urpe.forward(in[0], p0), Variable(w))); },
                         (std::vector<Tensor>{x}));
}

// The v1 causal LM layout: diag_block in the first half, norm_linear in the second, URPE on
// both, the v1 GLU, SimpleRMSNorm; its loss gradchecks through both kinds and URPE's θ.
TEST(TransNormerV1, LayoutGradchecks) {
  ModelConfig m = tiny_decoder_config();
  m.kv_heads = m.heads;
  m.layers = 2;
  m.init_std = 0.3;
  m.norm = {NormKind::simple_rmsnorm, 1e-6, NormPosition::pre};
  m.ffn = {FfnKind::glu, 20, Activation::silu};
  AttentionConfig diag;
  diag.kind = AttentionKind::diag_block;
  diag.positions = PositionKind::urpe;
  diag.block = 3;
  AttentionConfig norm = diag;
  norm.kind = AttentionKind::norm_linear;
  norm.feature_map = Activation::elu;
  m.layout = {LayerGroup{1, diag, m.ffn, {}}, LayerGroup{1, norm, m.ffn, {}}};
  Decoder model(m);
  Generator gen(95);
  model.init_parameters(gen);
  model.to(Device::cpu(), DType::f64);
  const Tensor ids = random_ids({2, 8}, 96), targets = random_ids({2, 8}, 97);
  GradcheckResult r = module_gradcheck(model, {"layers.0.self_attn.qkv_proj.weight", "layers.0.self_attn.out_proj.bias",
                                               "layers.0.self_attn.urpe.theta", "layers.1.self_attn.qkv_proj.bias",
                                               "layers.1.self_attn.out_proj.weight", "layers.1.self_attn.urpe.theta"},
                                       [&] { return model.loss(ids, targets); });
  EXPECT_TRUE(r.ok) << r.message;
}

}  // namespace
