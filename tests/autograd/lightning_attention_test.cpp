// Lightning attention against its naive O(T^2) form (specs/transnormer.md §3.1, with an
// initial state in the inclusive convention): forward, final state and every gradient, for
// T that are and are not multiples of the block, T < block, T = 1, Dk != Dv, head dims
// 8 to 192 (96 and 192 not powers of two), with and without decay; packed sequences that must not see each other; a sequence in chunks (and
// one token at a time, the decode recurrence) equal to one pass; gradchecks. f64 agrees
// to 1e-10; f32 to 1e-5 of the output's scale (inputs of size 0.1 as the LA tests use).
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/ops/elementwise.h"
#include "autograd/ops/lightning_attention.h"
#include "autograd/ops/matmul.h"
#include "autograd/ops/reduce.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

namespace {

struct Case {
  int64_t B, H, T, Dk, Dv, block;
  bool decay, state;
};

std::vector<float> decays(int64_t H) {
  std::vector<float> s;
  for (int64_t h = 0; h < H; ++h) s.push_back(float(0.05 + 0.3 * double(h)));  // λ from 0.95 down
  return s;
}

kernels::LightningOptions options(const Case& c) {
  kernels::LightningOptions o;
  o.block = c.block;
  if (c.decay) {
    const std::vector<float> s = decays(c.H);
    o.decay = Tensor::from_vector(std::vector<double>(s.begin(), s.end()), {c.H}, DType::f32);
  }
  return o;
}

struct Reference {
  Tensor out, final_state, dq, dk, dv, dstate;
};

// The closed form per (batch entry, head), in f64: o_i = q_i (λ^(i+1) S0 + Σ_{j<=i} λ^(i-j)
// k_jᵀ v_j); S_T = λ^T S0 + Σ_j λ^(T-1-j) k_jᵀ v_j; and the gradients of Σ out ⊙ dout +
// Σ S_T ⊙ dS_T.
Reference naive(const Case& c, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& s0, const Tensor& dout,
                const Tensor& dfinal) {
  const int64_t B = c.B, H = c.H, T = c.T, Dk = c.Dk, Dv = c.Dv;
  const std::vector<double> Q = q.to_vector(), K = k.to_vector(), V = v.to_vector(), dO = dout.to_vector(),
                            dSf = dfinal.to_vector();
  const std::vector<double> S0 = s0.defined() ? s0.to_vector() : std::vector<double>(size_t(B * H * Dk * Dv), 0.0);
  std::vector<double> O(size_t(B * H * T * Dv)), SF(size_t(B * H * Dk * Dv)), dQ(Q.size()), dK(K.size()), dV(V.size()),
      dS0(S0.size());
  const std::vector<float> s = decays(H);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const double lam = c.decay ? std::exp(-double(s[size_t(h)])) : 1.0;
      auto at = [&](const std::vector<double>& x, int64_t t, int64_t i, int64_t w) { return x[size_t(((b * H + h) * T + t) * w + i)]; };
      auto st = [&](const std::vector<double>& x, int64_t i, int64_t j) { return x[size_t(((b * H + h) * Dk + i) * Dv + j)]; };
      auto set_at = [&](std::vector<double>& x, int64_t t, int64_t i, int64_t w, double val) { x[size_t(((b * H + h) * T + t) * w + i)] += val; };
      auto set_st = [&](std::vector<double>& x, int64_t i, int64_t j, double val) { x[size_t(((b * H + h) * Dk + i) * Dv + j)] += val; };
      for (int64_t t = 0; t < T; ++t)
        for (int64_t e = 0; e < Dv; ++e) {
          double o = 0;
          for (int64_t i = 0; i < Dk; ++i) o += std::pow(lam, double(t + 1)) * at(Q, t, i, Dk) * st(S0, i, e);
          for (int64_t j = 0; j <= t; ++j) {
            double qk = 0;
            for (int64_t i = 0; i < Dk; ++i) qk += at(Q, t, i, Dk) * at(K, j, i, Dk);
            o += std::pow(lam, double(t - j)) * qk * at(V, j, e, Dv);
          }
          set_at(O, t, e, Dv, o);
        }
      for (int64_t i = 0; i < Dk; ++i)
        for (int64_t e = 0; e < Dv; ++e) {
          double f = std::pow(lam, double(T)) * st(S0, i, e);
          for (int64_t j = 0; j < T; ++j) f += std::pow(lam, double(T - 1 - j)) * at(K, j, i, Dk) * at(V, j, e, Dv);
          set_st(SF, i, e, f);
          // dS0 = Σ_t λ^(t+1) q_tᵀ do_t + λ^T dS_T
          double g = std::pow(lam, double(T)) * st(dSf, i, e);
          for (int64_t t = 0; t < T; ++t) g += std::pow(lam, double(t + 1)) * at(Q, t, i, Dk) * at(dO, t, e, Dv);
          set_st(dS0, i, e, g);
        }
      for (int64_t t = 0; t < T; ++t)
        for (int64_t j = 0; j <= t; ++j) {
          const double w = std::pow(lam, double(t - j));
          double dov = 0, qk = 0;
          for (int64_t e = 0; e < Dv; ++e) dov += at(dO, t, e, Dv) * at(V, j, e, Dv);
          for (int64_t i = 0; i < Dk; ++i) qk += at(Q, t, i, Dk) * at(K, j, i, Dk);
          for (int64_t i = 0; i < Dk; ++i) {
            set_at(dQ, t, i, Dk, w * dov * at(K, j, i, Dk));
            set_at(dK, j, i, Dk, w * dov * at(Q, t, i, Dk));
          }
          for (int64_t e = 0; e < Dv; ++e) set_at(dV, j, e, Dv, w * qk * at(dO, t, e, Dv));
        }
      for (int64_t t = 0; t < T; ++t) {
        const double wq = std::pow(lam, double(t + 1)), wk = std::pow(lam, double(T - 1 - t));
        for (int64_t i = 0; i < Dk; ++i)
          for (int64_t e = 0; e < Dv; ++e) {
            set_at(dQ, t, i, Dk, wq * at(dO, t, e, Dv) * st(S0, i, e));
            set_at(dK, t, i, Dk, wk * at(V, t, e, Dv) * st(dSf, i, e));
            set_at(dV, t, e, Dv, wk * at(K, t, i, Dk) * st(dSf, i, e));
          }
      }
    }
  auto tensor = [](const std::vector<double>& x, const Shape& shape) { return Tensor::from_vector(x, shape, DType::f64); };
  return {tensor(O, {B, H, T, Dv}), tensor(SF, {B, H, Dk, Dv}), tensor(dQ, q.shape()), tensor(dK, k.shape()),
          tensor(dV, v.shape()), tensor(dS0, {B, H, Dk, Dv})};
}

class LightningVsNaive : public ::testing::TestWithParam<Case> {};

TEST_P(LightningVsNaive, ForwardFinalStateAndGradients) {
  const Case c = GetParam();
  const uint64_t seed = uint64_t(c.T * 131 + c.Dk * 7 + c.block);
  const Tensor q = random_tensor({c.B, c.H, c.T, c.Dk}, seed, -0.1, 0.1), k = random_tensor(q.shape(), seed + 1, -0.1, 0.1);
  const Tensor v = random_tensor({c.B, c.H, c.T, c.Dv}, seed + 2, -0.1, 0.1);
  const Tensor s0 = c.state ? random_tensor({c.B, c.H, c.Dk, c.Dv}, seed + 3) : Tensor();
  const Tensor dout = random_tensor(v.shape(), seed + 4), dfinal = random_tensor({c.B, c.H, c.Dk, c.Dv}, seed + 5);
  const Reference ref = naive(c, q, k, v, s0, dout, dfinal);
  const kernels::LightningOptions o = options(c);
  for (DType dt : {DType::f64, DType::f32}) {
    // f32: relative to the values' scale, which the random states put near 1.
    const double tol = dt == DType::f64 ? 1e-10 : 1e-5;
    auto cast = [&](const Tensor& t) { return t.defined() ? t.to(dt) : Tensor(); };
    Tensor final_state;
    const Tensor out = kernels::lightning_attn_fwd(cast(q), cast(k), cast(v), o, cast(s0), &final_state);
    EXPECT_TRUE(all_close(out.to(DType::f64), ref.out, tol, tol)) << dtype_name(dt);
    EXPECT_TRUE(all_close(final_state.to(DType::f64), ref.final_state, tol, tol)) << dtype_name(dt);
    const kernels::LightningGrads g =
        kernels::lightning_attn_bwd(cast(q), cast(k), cast(v), cast(dout), o, cast(s0), cast(dfinal));
    EXPECT_TRUE(all_close(g.dq.to(DType::f64), ref.dq, tol, tol)) << "dq " << dtype_name(dt);
    EXPECT_TRUE(all_close(g.dk.to(DType::f64), ref.dk, tol, tol)) << "dk " << dtype_name(dt);
    EXPECT_TRUE(all_close(g.dv.to(DType::f64), ref.dv, tol, tol)) << "dv " << dtype_name(dt);
    if (c.state) {
      EXPECT_TRUE(all_close(g.dinitial_state.to(DType::f64), ref.dstate, tol, tol)) << "dS0 " << dtype_name(dt);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, LightningVsNaive,
    ::testing::Values(Case{1, 2, 1, 8, 8, 64, true, true},      // T = 1
                      Case{2, 2, 13, 16, 16, 64, true, false},  // T < block
                      Case{1, 2, 128, 32, 32, 64, true, true},  // T a multiple of the block
                      Case{1, 3, 150, 32, 16, 64, true, true},  // partial last block, Dk = 2 Dv (LRPE)
                      Case{1, 1, 70, 96, 96, 64, true, false},  // a head dim that is not a power of two
                      Case{1, 1, 100, 64, 64, 64, true, true},  // the head dims of TNL and of the tiny recipe
                      Case{1, 1, 130, 128, 128, 64, true, false},
                      Case{1, 1, 65, 192, 192, 64, true, true},
                      Case{2, 2, 23, 8, 12, 4, false, true},    // no decay, small blocks
                      Case{1, 2, 11, 4, 3, 4, true, true}),     // the spec's hand-checked shape
    // Readable, stable names (the default prints the struct's bytes, padding included, so
    // ctest's discovered names would not be reproducible).
    [](const ::testing::TestParamInfo<Case>& info) {
      const Case& c = info.param;
      return str_cat("B", c.B, "_H", c.H, "_T", c.T, "_Dk", c.Dk, "_Dv", c.Dv, "_block", c.block,
                     c.decay ? "_decay" : "", c.state ? "_state" : "");
    });

// Two packed sequences on one row equal each computed alone; padding rows stay zero.
TEST(Lightning, PackedSequencesDoNotSeeEachOther) {
  const Case c{1, 2, 30, 8, 8, 4, true, true};
  const Tensor q = random_tensor({1, 2, 30, 8}, 1, -0.1, 0.1), k = random_tensor(q.shape(), 2, -0.1, 0.1),
               v = random_tensor(q.shape(), 3, -0.1, 0.1), s0 = random_tensor({2, 2, 8, 8}, 4);
  kernels::LightningOptions packed = options(c);
  packed.segments = kernels::AttentionSegments::packed({0, 17, 26});  // rows 26..29 are padding
  Tensor final_state;
  const Tensor out = kernels::lightning_attn_fwd(q, k, v, packed, s0, &final_state);
  for (int64_t s = 0; s < 2; ++s) {
    const int64_t start = s == 0 ? 0 : 17, len = s == 0 ? 17 : 9;
    auto part = [&](const Tensor& x) { return x.narrow(2, start, len).contiguous(); };
    Tensor alone_final;
    const Tensor alone = kernels::lightning_attn_fwd(part(q), part(k), part(v), options(c),
                                                     s0.narrow(0, s, 1).contiguous(), &alone_final);
    EXPECT_TRUE(all_close(out.narrow(2, start, len), alone, 1e-13, 1e-13)) << s;
    EXPECT_TRUE(all_close(final_state.narrow(0, s, 1), alone_final, 1e-13, 1e-13)) << s;
  }
  EXPECT_EQ(out.narrow(2, 26, 4).contiguous().to_vector(), std::vector<double>(2 * 4 * 8, 0.0));
}

// A sequence in chunks, each starting from the previous chunk's final state, equals one
// pass; chunks of one token are the decode recurrence S <- λ S + kᵀ v, o = q S.
TEST(Lightning, ChunksWithStateHandOverEqualOnePass) {
  const Case c{1, 2, 37, 8, 6, 8, true, false};
  const Tensor q = random_tensor({1, 2, 37, 8}, 11, -0.1, 0.1), k = random_tensor(q.shape(), 12, -0.1, 0.1),
               v = random_tensor({1, 2, 37, 6}, 13, -0.1, 0.1);
  Tensor whole_final;
  const Tensor whole = kernels::lightning_attn_fwd(q, k, v, options(c), Tensor(), &whole_final);
  for (int64_t chunk : {1, 5, 16}) {
    Tensor state;
    for (int64_t t0 = 0; t0 < 37; t0 += chunk) {
      const int64_t n = std::min<int64_t>(chunk, 37 - t0);
      auto part = [&](const Tensor& x) { return x.narrow(2, t0, n).contiguous(); };
      Tensor next;
      const Tensor out = kernels::lightning_attn_fwd(part(q), part(k), part(v), options(c), state, &next);
      EXPECT_TRUE(all_close(out, whole.narrow(2, t0, n), 1e-13, 1e-13)) << chunk << " at " << t0;
      state = next;
    }
    EXPECT_TRUE(all_close(state, whole_final, 1e-13, 1e-13)) << chunk;
  }
}

// Finite differences through the op, the final state used (and fed on, chunked) too.
TEST(Lightning, GradcheckThroughOutputsAndChunkedState) {
  const Case c{1, 2, 9, 3, 2, 4, true, true};
  auto fn = [&](const std::vector<Variable>& in) {
    const LightningOutput first = lightning_attention(in[0], in[1], in[2], options(c), in[3]);
    // The second chunk reuses the inputs from the first one's final state.
    const LightningOutput second = lightning_attention(in[0], in[1], in[2], options(c), first.final_state);
    return add(sum(mul(first.out, second.out)), sum(second.final_state));
  };
  LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{random_tensor({1, 2, 9, 3}, 21), random_tensor({1, 2, 9, 3}, 22),
                                                   random_tensor({1, 2, 9, 2}, 23), random_tensor({1, 2, 3, 2}, 24)}));
}

// Non-causal (TransNormer's bidirectional NormAttention): o = q (S0 + Kᵀ V) over each packed
// sequence, checked against the same product written with matmuls, gradients included;
// gradcheck through the op; padding rows stay zero.
TEST(Lightning, BidirectionalIsQueriesTimesTheWholeSequenceState) {
  const int64_t H = 2, T = 21, Dk = 5, Dv = 3;
  const std::vector<int64_t> bounds{0, 8, 19};  // two sequences, rows 19 and 20 padding
  kernels::LightningOptions o;
  o.causal = false;
  o.block = 4;
  o.segments = kernels::AttentionSegments::packed(bounds);
  const Tensor q = random_tensor({1, H, T, Dk}, 31), k = random_tensor(q.shape(), 32), v = random_tensor({1, H, T, Dv}, 33);
  const Tensor s0 = random_tensor({2, H, Dk, Dv}, 34), dout = random_tensor({1, H, T, Dv}, 35),
               dfinal = random_tensor({2, H, Dk, Dv}, 36);
  Tensor final_state;
  const Tensor out = kernels::lightning_attn_fwd(q, k, v, o, s0, &final_state);
  const kernels::LightningGrads g = kernels::lightning_attn_bwd(q, k, v, dout, o, s0, dfinal);
  for (int64_t s = 0; s < 2; ++s) {
    const int64_t start = bounds[size_t(s)], len = bounds[size_t(s) + 1] - start;
    auto part = [&](const Tensor& x) { return Variable(x.narrow(2, start, len).contiguous(), true); };
    const Variable qs = part(q), ks = part(k), vs = part(v), s0s(s0.narrow(0, s, 1).contiguous(), true);
    const Variable state = add(s0s, matmul(ks, vs, true, false));
    const Variable ref = matmul(qs, state);
    const Variable loss = add(sum(mul(ref, Variable(dout.narrow(2, start, len).contiguous()))),
                              sum(mul(state, Variable(dfinal.narrow(0, s, 1).contiguous()))));
    loss.backward();
    EXPECT_TRUE(all_close(out.narrow(2, start, len), ref.data(), 1e-12, 1e-12)) << s;
    EXPECT_TRUE(all_close(final_state.narrow(0, s, 1), state.data(), 1e-12, 1e-12)) << s;
    EXPECT_TRUE(all_close(g.dq.narrow(2, start, len), qs.grad(), 1e-12, 1e-12)) << s;
    EXPECT_TRUE(all_close(g.dk.narrow(2, start, len), ks.grad(), 1e-12, 1e-12)) << s;
    EXPECT_TRUE(all_close(g.dv.narrow(2, start, len), vs.grad(), 1e-12, 1e-12)) << s;
    EXPECT_TRUE(all_close(g.dinitial_state.narrow(0, s, 1), s0s.grad(), 1e-12, 1e-12)) << s;
  }
  EXPECT_EQ(out.narrow(2, 19, 2).contiguous().to_vector(), std::vector<double>(size_t(H * 2 * Dv), 0.0));
  auto fn = [&](const std::vector<Variable>& in) {
    const LightningOutput r = lightning_attention(in[0], in[1], in[2], o, in[3]);
    return add(sum(mul(r.out, r.out)), sum(r.final_state));
  };
  LINEA_EXPECT_GRADCHECK(fn, (std::vector<Tensor>{q, k, v, s0}));
  o.decay = Tensor::from_vector({0.1, 0.2}, {2}, DType::f32);  // a decay needs an order
  expect_error([&] { kernels::lightning_attn_fwd(q, k, v, o, Tensor(), nullptr); }, "non-causal");
}

TEST(Lightning, BadInputsAreNamed) {
  const Tensor q = Tensor::zeros({1, 2, 5, 4}), v = Tensor::zeros({1, 2, 5, 3});
  kernels::LightningOptions o;
  o.decay = Tensor::from_vector({0.1, -0.2}, {2}, DType::f32);
  EXPECT_THROW(kernels::lightning_attn_fwd(q, q, v, o, Tensor(), nullptr), Error);  // negative decay
  o.decay = Tensor::from_vector({0.1}, {1}, DType::f32);
  EXPECT_THROW(kernels::lightning_attn_fwd(q, q, v, o, Tensor(), nullptr), Error);  // one decay for two heads
  EXPECT_THROW(kernels::lightning_attn_fwd(q, q, v, {}, Tensor::zeros({1, 2, 4, 4}), nullptr), Error);  // state shape
  EXPECT_THROW(kernels::lightning_attn_fwd(q, Tensor::zeros({1, 2, 5, 3}), v, {}, Tensor(), nullptr), Error);
}

}  // namespace
