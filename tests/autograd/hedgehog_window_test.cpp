// The blockwise hybrid window + linear attention (core/kernels/hedgehog_window.h) against the
// masked l x l definition of specs/lolcats.md §1.4, written here directly from the sets W(i)
// and Λ(i) of each layout: the forward, the final state, and every gradient (q, k, v, both
// feature maps, γ, λ and the initial state, the gradient through the window max c_i included)
// against central differences of that definition, for both layouts, lengths that are and are
// not multiples of the window, shorter than it and 1, packed and padded sequences, with and
// without an initial state, and pure linear attention (window 0). With λ = 0 the sliding layout is plain sliding-window softmax.
//
// Tolerances: f64 forward 1e-12 of the output's scale (the same sums in another order); f64
// gradients 1e-7 absolute against central differences with step 1e-6 (truncation ~1e-12,
// rounding ~1e-10 on values of order 1); f32 forward 2e-6 of the scale (a few roundings of
// sums of at most 2w + F terms of order 1).
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/gradcheck.h"
#include "autograd/ops/hedgehog_window.h"
#include "core/kernels/attention.h"
#include "core/rng.h"
#include "support/sequence_rows.h"
#include "support/testing.h"

using namespace linea;
using kernels::WindowLayout;

namespace {

struct Case {
  const char* name;
  WindowLayout layout;
  int64_t B, T, window;
  std::vector<int64_t> cu_seqlens;  // empty: B full rows of T
  bool initial_state = false;
};
constexpr int64_t H = 2, D = 4, Dv = 3, F = 6;
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }  // not the struct's bytes

struct Inputs {
  Tensor q, k, v, fq, fk, gamma, lambda, S0, z0;
};

Inputs inputs(const Case& c, uint64_t seed, DType dtype = DType::f64) {
  Generator gen(seed);
  Inputs x;
  auto normal = [&](const Shape& s, double std) {
    Tensor t = Tensor::empty(s, DType::f64);
    normal_(t, gen, 0.0, std);
    return t.to(dtype);
  };
  // Feature maps are non-negative (softmax halves or ReLU); away from 0 keeps den well away from 0.
  auto positive = [&](const Shape& s) {
    Tensor u = rand_uniform(s, gen, DType::f64);
    std::vector<double> v = u.to_vector();
    for (double& e : v) e = 0.05 + 0.5 * e;
    return Tensor::from_vector(v, s, dtype);
  };
  x.q = normal({c.B, H, c.T, D}, 1.0);
  x.k = normal({c.B, H, c.T, D}, 1.0);
  x.v = normal({c.B, H, c.T, Dv}, 1.0);
  x.fq = positive({c.B, H, c.T, F});
  x.fk = positive({c.B, H, c.T, F});
  x.gamma = Tensor::from_vector({0.1, 0.7}, {H}, dtype);
  x.lambda = Tensor::from_vector({1.0, 0.4}, {H}, dtype);
  const int64_t N = c.cu_seqlens.empty() ? c.B : int64_t(c.cu_seqlens.size()) - 1;
  if (c.initial_state) {
    x.S0 = normal({N, H, F, Dv}, 0.3);
    x.z0 = positive({N, H, F});
  }
  return x;
}

kernels::HedgehogWindowOptions options(const Case& c) {
  kernels::HedgehogWindowOptions o;
  o.layout = c.layout;
  o.window = c.window;
  if (!c.cu_seqlens.empty()) o.segments = kernels::AttentionSegments::packed(c.cu_seqlens);
  return o;
}

using Seq = linea::testing::SequenceRows;
std::vector<Seq> sequences(const Case& c) { return linea::testing::sequence_rows(c.B, c.T, c.cu_seqlens); }

// 1: j in W(i); 2: j in Λ(i); 0: neither. Positions within a sequence of length l.
int pair_set(WindowLayout layout, int64_t w, int64_t l, int64_t i, int64_t j) {
  if (w == 0) return j <= i ? 2 : 0;  // pure linear attention
  if (layout == WindowLayout::sliding) return j > i ? 0 : j > i - w ? 1 : 2;
  const int64_t o = ((-l) % w + w) % w;
  const int64_t bi = (i + o) / w, bj = (j + o) / w;
  if (j <= i && bj >= bi - 1) return 1;
  return bj <= bi - 2 ? 2 : 0;
}

struct Naive {
  std::vector<double> out, S, z;  // out [B, H, T, Dv]; S [N, H, F, Dv]; z [N, H, F]
};

// The definition, one query at a time, in f64.
Naive naive(const Case& c, const Inputs& x) {
  const std::vector<double> q = x.q.to_vector(), k = x.k.to_vector(), v = x.v.to_vector(), fq = x.fq.to_vector(),
                            fk = x.fk.to_vector(), gam = x.gamma.to_vector(), lam = x.lambda.to_vector();
  const std::vector<Seq> seqs = sequences(c);
  const int64_t N = int64_t(seqs.size());
  std::vector<double> S0 = x.S0.defined() ? x.S0.to_vector() : std::vector<double>(size_t(N * H * F * Dv), 0.0);
  std::vector<double> z0 = x.z0.defined() ? x.z0.to_vector() : std::vector<double>(size_t(N * H * F), 0.0);
  Naive r{std::vector<double>(size_t(c.B * H * c.T * Dv), 0.0), S0, z0};
  const double scale = 1.0 / std::sqrt(double(D));
  for (int64_t s = 0; s < N; ++s)
    for (int64_t h = 0; h < H; ++h) {
      const Seq& sq = seqs[size_t(s)];
      auto row = [&](int64_t t) { return (sq.b * H + h) * c.T + sq.t0 + t; };
      for (int64_t i = 0; i < sq.length; ++i) {
        double cmax = -1e300;
        for (int64_t j = 0; j <= i; ++j)
          if (pair_set(c.layout, c.window, sq.length, i, j) == 1) {
            double dot = 0;
            for (int64_t e = 0; e < D; ++e) dot += q[size_t(row(i) * D + e)] * k[size_t(row(j) * D + e)];
            cmax = std::max(cmax, dot * scale);
          }
        std::vector<double> num(Dv, 0.0);
        double den = 0;
        for (int64_t j = 0; j <= i; ++j) {
          const int set = pair_set(c.layout, c.window, sq.length, i, j);
          double w = 0;
          if (set == 1) {
            double dot = 0;
            for (int64_t e = 0; e < D; ++e) dot += q[size_t(row(i) * D + e)] * k[size_t(row(j) * D + e)];
            w = gam[size_t(h)] * std::exp(dot * scale - cmax);
          } else if (set == 2) {
            double dot = 0;
            for (int64_t f = 0; f < F; ++f) dot += fq[size_t(row(i) * F + f)] * fk[size_t(row(j) * F + f)];
            w = lam[size_t(h)] * dot;
          }
          den += w;
          for (int64_t e = 0; e < Dv; ++e) num[size_t(e)] += w * v[size_t(row(j) * Dv + e)];
        }
        for (int64_t f = 0; f < F; ++f) {
          const double a = lam[size_t(h)] * fq[size_t(row(i) * F + f)];
          den += a * z0[size_t((s * H + h) * F + f)];
          for (int64_t e = 0; e < Dv; ++e) num[size_t(e)] += a * S0[size_t(((s * H + h) * F + f) * Dv + e)];
        }
        if (c.window == 0) den += 1e-12;
        for (int64_t e = 0; e < Dv; ++e) r.out[size_t(row(i) * Dv + e)] = num[size_t(e)] / den;
      }
      for (int64_t j = 0; j < sq.length - c.window; ++j)
        for (int64_t f = 0; f < F; ++f) {
          r.z[size_t((s * H + h) * F + f)] += fk[size_t(row(j) * F + f)];
          for (int64_t e = 0; e < Dv; ++e)
            r.S[size_t(((s * H + h) * F + f) * Dv + e)] += fk[size_t(row(j) * F + f)] * v[size_t(row(j) * Dv + e)];
        }
    }
  return r;
}

// Weights that turn the outputs into one scalar loss: L = out·wo + S·wS + z·wz.
struct LossWeights {
  Tensor out, S, z;
};
double naive_loss(const Case& c, const Inputs& x, const LossWeights& w) {
  const Naive n = naive(c, x);
  double l = 0;
  const std::vector<double> wo = w.out.to_vector(), wS = w.S.to_vector(), wz = w.z.to_vector();
  for (size_t i = 0; i < wo.size(); ++i) l += n.out[i] * wo[i];
  for (size_t i = 0; i < wS.size(); ++i) l += n.S[i] * wS[i];
  for (size_t i = 0; i < wz.size(); ++i) l += n.z[i] * wz[i];
  return l;
}

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double e : v) m = std::max(m, std::abs(e));
  return m;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"terrace_T1", WindowLayout::terrace, 1, 1, 4, {}},
      {"terrace_shorter_than_window", WindowLayout::terrace, 2, 3, 4, {}},
      {"terrace_multiple", WindowLayout::terrace, 1, 16, 4, {}, true},
      {"terrace_ragged", WindowLayout::terrace, 2, 11, 4, {}},
      {"terrace_window_1", WindowLayout::terrace, 1, 7, 1, {}},
      {"terrace_packed", WindowLayout::terrace, 2, 12, 4, {0, 9, 12, 21}, true},
      {"sliding_T1", WindowLayout::sliding, 1, 1, 4, {}},
      {"sliding_shorter_than_window", WindowLayout::sliding, 1, 3, 4, {}, true},
      {"sliding_multiple", WindowLayout::sliding, 2, 12, 4, {}},
      {"sliding_ragged", WindowLayout::sliding, 1, 13, 5, {}, true},
      {"sliding_window_1", WindowLayout::sliding, 1, 6, 1, {}},
      {"sliding_packed_padded", WindowLayout::sliding, 2, 10, 3, {0, 7, 10, 16}},
      {"pure_linear", WindowLayout::terrace, 2, 9, 0, {}, true},
      {"pure_linear_long_packed", WindowLayout::sliding, 1, 150, 0, {0, 70, 150}},
  };
  return all;
}

class HedgehogWindowVsDefinition : public ::testing::TestWithParam<Case> {};

}  // namespace

TEST_P(HedgehogWindowVsDefinition, ForwardAndFinalStateF64) {
  const Case& c = GetParam();
  const Inputs x = inputs(c, 1);
  const kernels::LinearState s0 = x.S0.defined() ? kernels::LinearState{x.S0, x.z0} : kernels::LinearState{};
  const kernels::HedgehogWindowOutput got =
      kernels::hedgehog_window_fwd(x.q, x.k, x.v, x.fq, x.fk, x.gamma, x.lambda, options(c), s0, true);
  const Naive want = naive(c, x);
  const double scale = max_abs(want.out);
  const std::vector<double> out = got.out.to_vector(), S = got.final_state.S.to_vector(), z = got.final_state.z.to_vector();
  for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], want.out[i], 1e-12 * scale) << "out " << i;
  for (size_t i = 0; i < S.size(); ++i) ASSERT_NEAR(S[i], want.S[i], 1e-12 * (1 + std::abs(want.S[i]))) << "S " << i;
  for (size_t i = 0; i < z.size(); ++i) ASSERT_NEAR(z[i], want.z[i], 1e-12 * (1 + std::abs(want.z[i]))) << "z " << i;
}

TEST_P(HedgehogWindowVsDefinition, ForwardF32) {
  const Case& c = GetParam();
  const Inputs x = inputs(c, 2, DType::f32);
  const kernels::LinearState s0 = x.S0.defined() ? kernels::LinearState{x.S0, x.z0} : kernels::LinearState{};
  const Tensor got = kernels::hedgehog_window_fwd(x.q, x.k, x.v, x.fq, x.fk, x.gamma, x.lambda, options(c), s0, false).out;
  EXPECT_EQ(got.dtype(), DType::f32);
  const Naive want = naive(c, x);  // the f32 inputs, computed in f64
  const double scale = max_abs(want.out);
  const std::vector<double> out = got.to_vector();
  for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], want.out[i], 2e-6 * scale) << "out " << i;
}

// Every gradient of L = out·wo + S_final·wS + z_final·wz against central differences of the
// definition.
TEST_P(HedgehogWindowVsDefinition, EveryGradientF64) {
  const Case& c = GetParam();
  Inputs x = inputs(c, 3);
  Generator gen(4);
  const int64_t N = c.cu_seqlens.empty() ? c.B : int64_t(c.cu_seqlens.size()) - 1;
  LossWeights w{Tensor::empty({c.B, H, c.T, Dv}, DType::f64), Tensor::empty({N, H, F, Dv}, DType::f64),
                Tensor::empty({N, H, F}, DType::f64)};
  for (Tensor* t : {&w.out, &w.S, &w.z}) normal_(*t, gen);
  const kernels::LinearState s0 = x.S0.defined() ? kernels::LinearState{x.S0, x.z0} : kernels::LinearState{};
  const kernels::HedgehogWindowGrads g = kernels::hedgehog_window_bwd(
      x.q, x.k, x.v, x.fq, x.fk, x.gamma, x.lambda, w.out, options(c), s0, kernels::LinearState{w.S, w.z});
  struct Named {
    const char* name;
    Tensor* input;
    Tensor grad;
  };
  std::vector<Named> all = {{"q", &x.q, g.dq},   {"k", &x.k, g.dk},         {"v", &x.v, g.dv},
                            {"fq", &x.fq, g.dfq}, {"fk", &x.fk, g.dfk},      {"gamma", &x.gamma, g.dgamma},
                            {"lambda", &x.lambda, g.dlambda}};
  if (c.initial_state) {
    all.push_back({"S0", &x.S0, g.dinitial_state.S});
    all.push_back({"z0", &x.z0, g.dinitial_state.z});
  }
  const double eps = 1e-6;
  for (Named& n : all) {
    const std::vector<double> analytic = n.grad.to_vector();
    ASSERT_EQ(int64_t(analytic.size()), n.input->numel()) << n.name;
    for (int64_t i = 0; i < n.input->numel(); ++i) {
      Tensor flat = n.input->view({n.input->numel()});
      const double x0 = flat.at({i});
      flat.set({i}, x0 + eps);
      const double up = naive_loss(c, x, w);
      flat.set({i}, x0 - eps);
      const double down = naive_loss(c, x, w);
      flat.set({i}, x0);
      ASSERT_NEAR(analytic[size_t(i)], (up - down) / (2 * eps), 1e-7) << n.name << "[" << i << "]";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, HedgehogWindowVsDefinition, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

// λ = 0 leaves the window alone: the sliding layout is sliding-window softmax attention.
TEST(HedgehogWindow, SlidingWithoutLinearTermIsWindowedSoftmax) {
  const Case c{"x", WindowLayout::sliding, 2, 70, 16, {}};
  Inputs x = inputs(c, 5);
  x.lambda = Tensor::zeros({H}, DType::f64);
  kernels::HedgehogWindowOptions o = options(c);
  o.window = 16;
  // The softmax kernel wants v as wide as q.
  Tensor v = Tensor::empty({c.B, H, c.T, D}, DType::f64);
  Generator gen(55);
  normal_(v, gen);
  const Tensor got = kernels::hedgehog_window_fwd(x.q, x.k, v, x.fq, x.fk, x.gamma, x.lambda, o, {}, false).out;
  kernels::AttentionOptions a;
  a.causal = true;
  a.window = 16;
  const Tensor want = kernels::attention_fwd(x.q, x.k, v, a, nullptr);
  const std::vector<double> g = got.to_vector(), wv = want.to_vector();
  for (size_t i = 0; i < g.size(); ++i) ASSERT_NEAR(g[i], wv[i], 1e-12) << i;
}

// The paper's sizes: window 64 over lengths that are and are not multiples of it.
TEST(HedgehogWindow, Window64MatchesTheDefinition) {
  for (WindowLayout layout : {WindowLayout::terrace, WindowLayout::sliding})
    for (int64_t T : {64, 150}) {
      const Case c{"x", layout, 1, T, 64, {}, true};
      const Inputs x = inputs(c, 6);
      const Tensor got = kernels::hedgehog_window_fwd(x.q, x.k, x.v, x.fq, x.fk, x.gamma, x.lambda, options(c),
                                                      {x.S0, x.z0}, false)
                             .out;
      const Naive want = naive(c, x);
      const std::vector<double> g = got.to_vector();
      for (size_t i = 0; i < g.size(); ++i) ASSERT_NEAR(g[i], want.out[i], 1e-12 * max_abs(want.out)) << T << " " << i;
    }
}

TEST(HedgehogWindow, OpGradchecksThroughTheStates) {
  const Case c{"x", WindowLayout::sliding, 1, 9, 3, {}, true};
  const Inputs x = inputs(c, 7);
  GradcheckOptions opt;
  const GradcheckResult r = gradcheck(
      [&](const std::vector<Variable>& in) {
        HedgehogWindowResult y = hedgehog_window_attention(in[0], in[1], in[2], in[3], in[4], in[5], in[6], options(c),
                                                           in[7], in[8], /*final_state=*/true);
        return y.out;
      },
      {x.q, x.k, x.v, x.fq, x.fk, x.gamma, x.lambda, x.S0, x.z0}, opt);
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(HedgehogWindow, BadShapesAreNamed) {
  const Case c{"x", WindowLayout::terrace, 1, 5, 4, {}};
  const Inputs x = inputs(c, 8);
  linea::testing::expect_error<ShapeError>(
      [&] { kernels::hedgehog_window_fwd(x.q, x.k, x.v, x.fq, x.fk.narrow(3, 0, 2), x.gamma, x.lambda, options(c), {}, false); },
      "hedgehog_window_fwd: fk f64[1, 2, 5, 2] on cpu (strided) must match fq");
  kernels::HedgehogWindowOptions o = options(c);
  o.window = -1;
  linea::testing::expect_error<ShapeError>(
      [&] { kernels::hedgehog_window_fwd(x.q, x.k, x.v, x.fq, x.fk, x.gamma, x.lambda, o, {}, false); },
      "window must be >= 1 (or 0: pure linear attention), got -1");
}
