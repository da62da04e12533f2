// Kimi Delta Attention's kernels (core/kernels/kda.h) against the token-by-token recurrence
// of specs/kimi_linear.md §1.4, written here again as plain loops in f64: the chunked forward
// and final state, the recurrent kernel, and every gradient of the chunked backward (q, k, v,
// g, β, initial state) against central differences of that recurrence, over the §2.6 grid:
// T in {1, 15, 63, 64, 65, 130}, K in {8, 60, 64} with V != K, chunks 16/32/64, g = 0 exactly
// g ≈ -20 and -45 per step (G falls by hundreds of nats within 16 rows), β in {0, 1}, an initial state,
// grouped value heads, packed sequences ending mid-chunk and padded batches.
//
// Tolerances: f64 chunked vs recurrence 1e-10 of the output's scale (the same sums in another
// order, through a unit-triangular solve whose entries are bounded by 1 in magnitude, so
// roundings stay ~1e-15 per operation); gradients against central differences with step 1e-6
// of a random directional derivative, 1e-7 relative to the derivative's scale (truncation
// ~1e-12, rounding ~1e-10 / 1e-6); f32 chunked vs f64 recurrence 3e-5 of the scale (f32
// rounding 6e-8 through ~T K-term sums and the 64 x 64 forward substitution).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "autograd/ops/elementwise.h"
#include "autograd/ops/kda.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/views.h"
#include "core/kernels/kda.h"
#include "core/kernels/reduce.h"
#include "core/rng.h"
#include "support/sequence_rows.h"
#include "support/testing.h"

using namespace linea;

namespace {

// strong: -45 ± 1 nats per step, beyond every type's factored diagonal span (per-element
// exponents); moderate: -20 ± 1, factored in f64 (span ~300 <= 600), per element in f32.
enum class Gate { random, zero, moderate, strong };

struct Case {
  const char* name;
  int64_t B, T, H, G, K, V, chunk;
  std::vector<int64_t> cu_seqlens;  // empty: B full rows of T; padded batches when they skip rows
  Gate gate = Gate::random;
  bool initial_state = false;
  bool delta_rule = true;
  double beta_fixed = -1;  // >= 0: every β equals it
  int64_t HV() const { return H * G; }
  int64_t N() const { return cu_seqlens.empty() ? B : int64_t(cu_seqlens.size()) - 1; }
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

struct Inputs {
  Tensor q, k, v, g, beta, S0;
};

Tensor from(const std::vector<double>& v, const Shape& s, DType dtype) { return Tensor::from_vector(v, s, DType::f64).to(dtype); }

// fla's test inputs (§2.6): q, k uniform then L2-normalised, v uniform, g = logsigmoid(N(0,1)),
// β = σ(N(0,1)), S0 ~ N(0,1).
Inputs inputs(const Case& c, uint64_t seed, DType dtype = DType::f64) {
  Generator gen(seed);
  auto draw = [&](const Shape& s, bool normal) {
    Tensor t = Tensor::empty(s, DType::f64);
    if (normal) normal_(t, gen, 0.0, 1.0);
    else uniform_(t, gen, 0.0, 1.0);
    return t.to_vector();
  };
  auto l2rows = [&](std::vector<double> x) {
    for (size_t r = 0; r < x.size(); r += size_t(c.K)) {
      double n = 0;
      for (int64_t i = 0; i < c.K; ++i) n += x[r + size_t(i)] * x[r + size_t(i)];
      for (int64_t i = 0; i < c.K; ++i) x[r + size_t(i)] /= std::sqrt(n + 1e-6);
    }
    return x;
  };
  Inputs x;
  x.q = from(l2rows(draw({c.B, c.H, c.T, c.K}, false)), {c.B, c.H, c.T, c.K}, dtype);
  x.k = from(l2rows(draw({c.B, c.H, c.T, c.K}, false)), {c.B, c.H, c.T, c.K}, dtype);
  x.v = from(draw({c.B, c.HV(), c.T, c.V}, false), {c.B, c.HV(), c.T, c.V}, dtype);
  std::vector<double> g = draw({c.B, c.HV(), c.T, c.K}, true);
  for (double& e : g) {
    if (c.gate == Gate::zero) e = 0;
    else if (c.gate == Gate::strong) e = -45.0 + e;
    else if (c.gate == Gate::moderate) e = std::min(0.0, -20.0 + e);
    else e = -std::log1p(std::exp(-e));              // logsigmoid
  }
  x.g = from(g, {c.B, c.HV(), c.T, c.K}, dtype);
  std::vector<double> beta = draw({c.B, c.HV(), c.T}, true);
  for (double& e : beta) e = c.beta_fixed >= 0 ? c.beta_fixed : 1.0 / (1.0 + std::exp(-e));
  x.beta = from(beta, {c.B, c.HV(), c.T}, dtype);
  if (c.initial_state) x.S0 = from(draw({c.N(), c.HV(), c.K, c.V}, true), {c.N(), c.HV(), c.K, c.V}, dtype);
  return x;
}

kernels::KdaOptions options(const Case& c) {
  kernels::KdaOptions o;
  o.chunk = c.chunk;
  o.delta_rule = c.delta_rule;
  if (!c.cu_seqlens.empty()) o.segments = kernels::AttentionSegments::packed(c.cu_seqlens);
  return o;
}

using Seq = linea::testing::SequenceRows;
std::vector<Seq> sequences(const Case& c) { return linea::testing::sequence_rows(c.B, c.T, c.cu_seqlens); }

struct Naive {
  std::vector<double> out, S;  // out [B, HV, T, V]; S [N, HV, K, V]
  std::vector<double> h;       // [N, HV, slots, K, V]: S entering each chunk, 0 past a sequence's end
  int64_t slots = 0;
};

// §1.4 as plain loops: decay, delta, update, read.
Naive naive(const Case& c, const Inputs& x) {
  const std::vector<double> q = x.q.to_vector(), k = x.k.to_vector(), v = x.v.to_vector(), g = x.g.to_vector(),
                            beta = x.beta.to_vector();
  const std::vector<Seq> seqs = sequences(c);
  const int64_t K = c.K, V = c.V, HV = c.HV();
  Naive r;
  r.out.assign(size_t(c.B * HV * c.T * V), 0.0);
  r.S = x.S0.defined() ? x.S0.to_vector() : std::vector<double>(size_t(c.N() * HV * K * V), 0.0);
  for (const Seq& sq : seqs) r.slots = std::max(r.slots, (sq.length + c.chunk - 1) / c.chunk);
  r.h.assign(size_t(c.N() * HV * r.slots * K * V), 0.0);
  const double scale = 1.0 / std::sqrt(double(K));
  for (size_t s = 0; s < seqs.size(); ++s)
    for (int64_t e = 0; e < HV; ++e) {
      const Seq& sq = seqs[s];
      const int64_t h = e / c.G;
      double* S = r.S.data() + (int64_t(s) * HV + e) * K * V;
      for (int64_t t = 0; t < sq.length; ++t) {
        if (t % c.chunk == 0)
          std::copy(S, S + K * V, r.h.begin() + ((int64_t(s) * HV + e) * r.slots + t / c.chunk) * K * V);
        const int64_t qr = (sq.b * c.H + h) * c.T + sq.t0 + t, vr = (sq.b * HV + e) * c.T + sq.t0 + t;
        for (int64_t i = 0; i < K; ++i)
          for (int64_t j = 0; j < V; ++j) S[i * V + j] *= std::exp(g[size_t(vr * K + i)]);
        std::vector<double> u(static_cast<size_t>(V));
        for (int64_t j = 0; j < V; ++j) {
          double p = 0;
          for (int64_t i = 0; i < K; ++i) p += S[i * V + j] * k[size_t(qr * K + i)];
          u[size_t(j)] = beta[size_t(vr)] * (v[size_t(vr * V + j)] - (c.delta_rule ? p : 0.0));
        }
        for (int64_t i = 0; i < K; ++i)
          for (int64_t j = 0; j < V; ++j) S[i * V + j] += k[size_t(qr * K + i)] * u[size_t(j)];
        for (int64_t j = 0; j < V; ++j) {
          double o = 0;
          for (int64_t i = 0; i < K; ++i) o += S[i * V + j] * scale * q[size_t(qr * K + i)];
          r.out[size_t(vr * V + j)] = o;
        }
      }
    }
  return r;
}

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double e : v) m = std::max(m, std::abs(e));
  return m;
}

double max_diff(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"T1", 2, 1, 2, 1, 8, 6, 64, {}},
      {"T15_chunk16", 1, 15, 2, 1, 8, 5, 16, {}, Gate::random, true},
      {"T63", 1, 63, 1, 1, 8, 6, 64, {}},
      {"T64", 2, 64, 1, 1, 8, 6, 64, {}, Gate::random, true},
      {"T65", 1, 65, 2, 1, 8, 5, 64, {}},
      {"T130_chunk32", 1, 130, 1, 1, 8, 6, 32, {}, Gate::random, true},
      {"K60_V64", 1, 70, 1, 1, 60, 64, 64, {}},
      {"K64_V60_chunk16", 1, 40, 1, 1, 64, 60, 16, {}, Gate::random, true},
      {"gate_zero", 1, 70, 2, 1, 8, 6, 32, {}, Gate::zero, true},
      {"gate_strong", 1, 130, 2, 1, 8, 6, 64, {}, Gate::strong, true},
      {"gate_moderate", 1, 70, 1, 1, 8, 6, 32, {}, Gate::moderate, true},
      {"beta_zero", 1, 40, 1, 1, 8, 6, 16, {}, Gate::random, true, true, 0.0},
      {"beta_one", 1, 40, 1, 1, 8, 6, 16, {}, Gate::random, true, true, 1.0},
      {"grouped_values", 2, 33, 2, 2, 8, 6, 16, {}, Gate::random, true},
      {"packed_mid_chunk", 1, 90, 2, 1, 8, 6, 16, {0, 23, 24, 90}, Gate::random, true},
      {"padded", 2, 40, 1, 2, 8, 5, 16, {0, 29, 40, 57}},
      {"no_delta_rule", 1, 70, 2, 1, 8, 6, 32, {}, Gate::random, true, false},
  };
  return all;
}

class KdaCase : public ::testing::TestWithParam<Case> {};

TEST_P(KdaCase, ChunkedAndRecurrentEqualTheRecurrenceInF64) {
  const Case& c = GetParam();
  const Inputs x = inputs(c, 11);
  const Naive want = naive(c, x);
  const double scale = std::max(1.0, max_abs(want.out)), sscale = std::max(1.0, max_abs(want.S));
  for (bool chunked : {true, false}) {
    Tensor fin;
    const Tensor out = chunked ? kernels::kda_fwd(x.q, x.k, x.v, x.g, x.beta, options(c), x.S0, &fin)
                               : kernels::kda_recurrent_fwd(x.q, x.k, x.v, x.g, x.beta, options(c), x.S0, &fin);
    EXPECT_LE(max_diff(out.to_vector(), want.out), 1e-10 * scale) << (chunked ? "chunked" : "recurrent");
    EXPECT_LE(max_diff(fin.to_vector(), want.S), 1e-10 * sscale) << (chunked ? "chunked" : "recurrent");
    for (double e : out.to_vector()) ASSERT_TRUE(std::isfinite(e));
  }
}

TEST_P(KdaCase, ChunkedF32IsWithinF32RoundingOfTheRecurrence) {
  const Case& c = GetParam();
  const Naive want = naive(c, inputs(c, 12));
  const Inputs x = inputs(c, 12, DType::f32);
  Tensor fin;
  const Tensor out = kernels::kda_fwd(x.q, x.k, x.v, x.g, x.beta, options(c), x.S0, &fin);
  EXPECT_LE(max_diff(out.to_vector(), want.out), 3e-5 * std::max(1.0, max_abs(want.out)));
  EXPECT_LE(max_diff(fin.to_vector(), want.S), 3e-5 * std::max(1.0, max_abs(want.S)));
}

// Spec §2.2's return_chunk_states: h[n] is the state after the sequence's first n chunks, from
// both algorithms; f32 inputs give f32 snapshots within the f32 forward's tolerance.
TEST_P(KdaCase, ChunkStatesAreTheStatesEnteringEachChunk) {
  const Case& c = GetParam();
  const Naive want = naive(c, inputs(c, 16));
  const double sscale = std::max(1.0, max_abs(want.h));
  for (bool chunked : {true, false}) {
    const Inputs x = inputs(c, 16);
    Tensor h;
    if (chunked) kernels::kda_fwd(x.q, x.k, x.v, x.g, x.beta, options(c), x.S0, nullptr, &h);
    else kernels::kda_recurrent_fwd(x.q, x.k, x.v, x.g, x.beta, options(c), x.S0, nullptr, &h);
    EXPECT_EQ(h.shape(), (Shape{c.N(), c.HV(), want.slots, c.K, c.V}));
    EXPECT_EQ(h.dtype(), DType::f64);
    EXPECT_LE(max_diff(h.to_vector(), want.h), 1e-10 * sscale) << (chunked ? "chunked" : "recurrent");
  }
  const Inputs x32 = inputs(c, 16, DType::f32);
  Tensor h32;
  kernels::kda_fwd(x32.q, x32.k, x32.v, x32.g, x32.beta, options(c), x32.S0, nullptr, &h32);
  EXPECT_EQ(h32.dtype(), DType::f32);
  EXPECT_LE(max_diff(h32.to_vector(), want.h), 3e-5 * sscale);
}

// L = out·wo + S_T·wS; dL along a random direction of each input, analytic vs central
// differences of the recurrence. g = 0 is moved only downwards (g must stay <= 0): there the
// derivative is the one-sided second-order difference.
TEST_P(KdaCase, GradientsEqualCentralDifferencesOfTheRecurrence) {
  const Case& c = GetParam();
  const Inputs x = inputs(c, 13);
  const Tensor wo = linea::testing::random_tensor({c.B, c.HV(), c.T, c.V}, 14);
  const Tensor wS = linea::testing::random_tensor({c.N(), c.HV(), c.K, c.V}, 15);
  auto loss = [&](const Inputs& in) {
    const Naive n = naive(c, in);
    double l = 0;
    const std::vector<double> a = wo.to_vector(), b = wS.to_vector();
    for (size_t i = 0; i < a.size(); ++i) l += n.out[i] * a[i];
    for (size_t i = 0; i < b.size(); ++i) l += n.S[i] * b[i];
    return l;
  };
  const kernels::KdaGrads gr = kernels::kda_bwd(x.q, x.k, x.v, x.g, x.beta, wo, options(c), x.S0, wS);
  struct Slot {
    const char* name;
    Tensor Inputs::*input;
    Tensor grad;
  };
  std::vector<Slot> slots = {{"q", &Inputs::q, gr.dq},     {"k", &Inputs::k, gr.dk},       {"v", &Inputs::v, gr.dv},
                             {"g", &Inputs::g, gr.dg},     {"beta", &Inputs::beta, gr.dbeta}};
  if (c.initial_state) slots.push_back({"S0", &Inputs::S0, gr.dinitial_state});
  const double eps = 1e-6;
  uint64_t seed = 100;
  for (const Slot& s : slots) {
    const Tensor& base = x.*(s.input);
    const bool one_sided = s.input == &Inputs::g && c.gate == Gate::zero;
    const Tensor dir = linea::testing::random_tensor(base.shape(), seed++, -1.0, one_sided ? 0.0 : 1.0);
    const std::vector<double> gv = s.grad.to_vector(), dv = dir.to_vector();
    double analytic = 0, mass = 0;
    for (size_t i = 0; i < gv.size(); ++i) {
      analytic += gv[i] * dv[i];
      mass += std::abs(gv[i] * dv[i]);
    }
    auto at = [&](double step) {
      Inputs y = x;
      std::vector<double> b = base.to_vector();
      for (size_t i = 0; i < b.size(); ++i) b[i] += step * dv[i];
      y.*(s.input) = Tensor::from_vector(b, base.shape(), DType::f64);
      return loss(y);
    };
    const double numeric = one_sided ? (-3 * at(0) + 4 * at(eps) - at(2 * eps)) / (2 * eps)
                                     : (at(eps) - at(-eps)) / (2 * eps);
    EXPECT_NEAR(analytic, numeric, 1e-7 * std::max(1.0, mass)) << s.name;
  }
  // Padding rows (outside every sequence) get zero gradients.
  if (!c.cu_seqlens.empty() && c.cu_seqlens.back() < c.B * c.T) {
    const std::vector<double> dv = gr.dv.to_vector();
    for (int64_t e = 0; e < c.HV(); ++e)
      for (int64_t t = c.cu_seqlens.back() % c.T; t < c.T; ++t)
        EXPECT_EQ(dv[size_t((((c.B - 1) * c.HV() + e) * c.T + t) * c.V)], 0.0);
  }
}

INSTANTIATE_TEST_SUITE_P(Grid, KdaCase, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& i) { return std::string(i.param.name); });

// Grouped value heads (§1.7): value head e reads q/k head e / G, so G = 2 equals repeating
// each q/k head twice in a row (not tiling) and running G = 1; dq, dk are the group's sums.
TEST(Kda, GroupedValueHeadsEqualRepeatedQueryKeyHeads) {
  const Case grouped{"g2", 1, 37, 2, 2, 8, 6, 16, {}, Gate::random, true};
  const Inputs x = inputs(grouped, 21);
  auto repeat = [](const Tensor& t) {  // [B, H, T, K] -> [B, 2H, T, K], head h at 2h and 2h + 1
    const Shape s = t.shape();
    return t.reshape({s[0], s[1], 1, s[2], s[3]}).expand({s[0], s[1], 2, s[2], s[3]}).contiguous().reshape(
        {s[0], 2 * s[1], s[2], s[3]});
  };
  const Tensor wo = linea::testing::random_tensor({1, 4, 37, 6}, 22);
  const kernels::KdaOptions o = options(grouped);
  Tensor fin_g, fin_r;
  const Tensor out_g = kernels::kda_fwd(x.q, x.k, x.v, x.g, x.beta, o, x.S0, &fin_g);
  const Tensor out_r = kernels::kda_fwd(repeat(x.q), repeat(x.k), x.v, x.g, x.beta, o, x.S0, &fin_r);
  EXPECT_LE(max_diff(out_g.to_vector(), out_r.to_vector()), 1e-13);
  EXPECT_LE(max_diff(fin_g.to_vector(), fin_r.to_vector()), 1e-13);
  const kernels::KdaGrads gg = kernels::kda_bwd(x.q, x.k, x.v, x.g, x.beta, wo, o, x.S0, Tensor());
  const kernels::KdaGrads gr = kernels::kda_bwd(repeat(x.q), repeat(x.k), x.v, x.g, x.beta, wo, o, x.S0, Tensor());
  auto pair_sum = [](const Tensor& t) { return kernels::reduce(ReduceOp::sum, t.reshape({1, 2, 2, 37, 8}), {2}, false); };
  EXPECT_LE(max_diff(gg.dq.to_vector(), pair_sum(gr.dq).to_vector()), 1e-13);
  EXPECT_LE(max_diff(gg.dk.to_vector(), pair_sum(gr.dk).to_vector()), 1e-13);
  EXPECT_LE(max_diff(gg.dg.to_vector(), gr.dg.to_vector()), 1e-13);
}

// Gated DeltaNet (§1.3) is KDA with one decay per head: the kernel given a channel-constant g
// equals the scalar-gate recurrence S <- α S; S += β k (v - Sᵀ k)ᵀ, written with α scalar.
TEST(Kda, ChannelConstantGateIsGatedDeltaNet) {
  const int64_t T = 45, K = 8, V = 6;
  const Case c{"gdn", 1, T, 1, 1, K, V, 16, {}};
  Inputs x = inputs(c, 31);
  std::vector<double> a = linea::testing::random_tensor({T}, 32, -2.0, -0.01).to_vector();
  std::vector<double> g(size_t(T * K));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < K; ++i) g[size_t(t * K + i)] = a[size_t(t)];
  x.g = Tensor::from_vector(g, {1, 1, T, K}, DType::f64);
  const Tensor out = kernels::kda_fwd(x.q, x.k, x.v, x.g, x.beta, options(c), Tensor(), nullptr);
  const std::vector<double> q = x.q.to_vector(), k = x.k.to_vector(), v = x.v.to_vector(), beta = x.beta.to_vector();
  std::vector<double> S(size_t(K * V), 0.0), want(size_t(T * V));
  for (int64_t t = 0; t < T; ++t) {
    const double alpha = std::exp(a[size_t(t)]);
    for (double& s : S) s *= alpha;
    for (int64_t j = 0; j < V; ++j) {
      double p = 0;
      for (int64_t i = 0; i < K; ++i) p += S[size_t(i * V + j)] * k[size_t(t * K + i)];
      const double u = beta[size_t(t)] * (v[size_t(t * V + j)] - p);
      for (int64_t i = 0; i < K; ++i) S[size_t(i * V + j)] += k[size_t(t * K + i)] * u;
    }
    for (int64_t j = 0; j < V; ++j) {
      double o = 0;
      for (int64_t i = 0; i < K; ++i) o += S[size_t(i * V + j)] * q[size_t(t * K + i)];
      want[size_t(t * V + j)] = o / std::sqrt(double(K));
    }
  }
  EXPECT_LE(max_diff(out.to_vector(), want), 1e-12);
}

// The same sequence in two pieces, the first's final state handed to the second, equals one
// pass (chunked prefill), in value and in gradient through the hand-over.
TEST(Kda, PiecesThroughTheStateEqualOnePass) {
  const Case c{"pieces", 1, 100, 2, 1, 8, 6, 32, {}, Gate::random, true};
  const Inputs x = inputs(c, 41);
  const kernels::KdaOptions o = options(c);
  auto vars = [](const Tensor& t) { return Variable(t, true); };
  Variable q = vars(x.q), k = vars(x.k), v = vars(x.v), g = vars(x.g), beta = vars(x.beta), S0 = vars(x.S0);
  const KdaOutput whole = kda(q, k, v, g, beta, o, S0);
  auto part = [](const Variable& t, int64_t dim, int64_t a, int64_t n) { return slice(t, dim, a, a + n); };
  const KdaOutput first = kda(part(q, 2, 0, 37), part(k, 2, 0, 37), part(v, 2, 0, 37), part(g, 2, 0, 37),
                              part(beta, 2, 0, 37), o, S0);
  const KdaOutput second = kda(part(q, 2, 37, 63), part(k, 2, 37, 63), part(v, 2, 37, 63), part(g, 2, 37, 63),
                               part(beta, 2, 37, 63), o, first.final_state);
  EXPECT_LE(max_diff(whole.final_state.data().to_vector(), second.final_state.data().to_vector()), 1e-12);
  const std::vector<double> w = whole.out.data().to_vector(), a = first.out.data().to_vector(),
                            b = second.out.data().to_vector();
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t t = 0; t < 100; ++t)
      for (int64_t j = 0; j < 6; ++j) {
        const double got = t < 37 ? a[size_t((h * 37 + t) * 6 + j)] : b[size_t((h * 63 + t - 37) * 6 + j)];
        ASSERT_NEAR(got, w[size_t((h * 100 + t) * 6 + j)], 1e-12);
      }
}

// Spec §1.6's conversion tests, with K != V so that a missing transpose fails loudly. A peer
// keeping the state V-first (fla's layer, vLLM, sglang) runs the recurrence on S[j, i] itself;
// its state imported through kda_state_transpose then decodes the next token as a one-shot
// forward over T + 1 tokens does; export and import round-trip; the untransposed state is refused.
TEST(Kda, VFirstStatesConvertAtTheBoundary) {
  const Case c{"layout", 1, 41, 2, 2, 8, 5, 16, {}, Gate::random, true};
  const int64_t T = c.T - 1, HV = c.HV(), K = c.K, V = c.V;
  const Inputs x = inputs(c, 71);
  const kernels::KdaOptions o = options(c);
  Tensor full_state;
  const std::vector<double> full = kernels::kda_fwd(x.q, x.k, x.v, x.g, x.beta, o, x.S0, &full_state).to_vector();
  // The peer: S0 exported V-first, then T tokens of the recurrence on its own [V, K] state.
  std::vector<double> peer = kernels::kda_state_transpose(x.S0).to_vector();
  const std::vector<double> q = x.q.to_vector(), k = x.k.to_vector(), v = x.v.to_vector(), g = x.g.to_vector(),
                            beta = x.beta.to_vector();
  for (int64_t e = 0; e < HV; ++e) {
    double* S = peer.data() + e * V * K;  // S[j * K + i]
    for (int64_t t = 0; t < T; ++t) {
      const int64_t qr = (e / c.G) * c.T + t, vr = e * c.T + t;
      for (int64_t j = 0; j < V; ++j) {
        double p = 0;
        for (int64_t i = 0; i < K; ++i) {
          S[j * K + i] *= std::exp(g[size_t(vr * K + i)]);
          p += S[j * K + i] * k[size_t(qr * K + i)];
        }
        const double u = beta[size_t(vr)] * (v[size_t(vr * V + j)] - p);
        for (int64_t i = 0; i < K; ++i) S[j * K + i] += k[size_t(qr * K + i)] * u;
      }
    }
  }
  const Tensor v_first = Tensor::from_vector(peer, {1, HV, V, K}, DType::f64);
  const Tensor imported = kernels::kda_state_transpose(v_first);
  EXPECT_EQ(imported.shape(), (Shape{1, HV, K, V}));
  EXPECT_LE(max_diff(kernels::kda_state_transpose(imported).to_vector(), peer), 0.0);  // export o import
  auto last = [&](const Tensor& t) { return slice(Variable(t), 2, T, T + 1).data().contiguous(); };
  Tensor decoded_state;
  const std::vector<double> step = kernels::kda_recurrent_fwd(last(x.q), last(x.k), last(x.v), last(x.g),
                                                              last(x.beta), o, imported, &decoded_state)
                                       .to_vector();
  for (int64_t e = 0; e < HV; ++e)
    for (int64_t j = 0; j < V; ++j) EXPECT_NEAR(step[size_t(e * V + j)], full[size_t((e * c.T + T) * V + j)], 1e-12);
  EXPECT_LE(max_diff(decoded_state.to_vector(), full_state.to_vector()), 1e-12);
  EXPECT_THROW(kernels::kda_recurrent_fwd(last(x.q), last(x.k), last(x.v), last(x.g), last(x.beta), o, v_first, nullptr),
               Error);
}

TEST(Kda, GradcheckOfTheOp) {
  const Case c{"op", 1, 19, 1, 2, 4, 3, 16, {0, 7, 19}, Gate::random, true};
  const Inputs x = inputs(c, 51);
  LINEA_EXPECT_GRADCHECK(
      [&](const std::vector<Variable>& in) {
        const KdaOutput r = kda(in[0], in[1], in[2], in[3], in[4], options(c), in[5]);
        return sum(r.out * r.out) + sum(r.final_state);
      },
      (std::vector<Tensor>{x.q, x.k, x.v, x.g, x.beta, x.S0}));
}

TEST(Kda, RejectsBadInput) {
  const Case c{"bad", 1, 10, 2, 1, 4, 3, 16, {}};
  const Inputs x = inputs(c, 61);
  kernels::KdaOptions o = options(c);
  Tensor positive = x.g.clone();
  positive.data<double>()[5] = 0.1;
  EXPECT_THROW(kernels::kda_fwd(x.q, x.k, x.v, positive, x.beta, o, Tensor(), nullptr), Error);
  o.chunk = 48;
  EXPECT_THROW(kernels::kda_fwd(x.q, x.k, x.v, x.g, x.beta, o, Tensor(), nullptr), Error);
  o.chunk = 16;
  // 3 value heads cannot be grouped over 2 q/k heads.
  const Tensor v3 = linea::testing::random_tensor({1, 3, 10, 3}, 62);
  EXPECT_THROW(kernels::kda_fwd(x.q, x.k, v3, x.g, x.beta, o, Tensor(), nullptr), Error);
  const Tensor wrong_state = linea::testing::random_tensor({1, 2, 3, 4}, 63);  // [N, HV, V, K]: V-first
  EXPECT_THROW(kernels::kda_fwd(x.q, x.k, x.v, x.g, x.beta, o, wrong_state, nullptr), Error);
}

}  // namespace
