// scaled_dot_product_attention: gradchecks (odd T, GQA, causal and not, strided inputs),
// forward / lse / backward against a naive explicit T x T reference, f32 and bf16
// accuracy, the default scale and shape errors.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functional.h"
#include "core/kernels/attention.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

namespace {

// Naive attention in double with an explicit T x T probability matrix per head.
// q [B,H,T,D], k/v [B,Hkv,T,D]; dout optional ([B,H,T,D]) for the gradients; ALiBi slopes
// (one per head) optional; lengths optional: row b has lengths[b] real tokens first, pad
// keys are masked and pad query rows left at zero (what a key-padding mask plus re-padding
// gives); window > 0 masks keys j <= i - window (the causal sliding window).
struct Naive {
  Tensor out, lse, dq, dk, dv;
};
Naive naive(const Tensor& q, const Tensor& k, const Tensor& v, bool causal, double scale, const Tensor& dout = {},
            const std::vector<float>& slopes = {}, const std::vector<int64_t>& lengths = {}, int64_t window = 0) {
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3), Hkv = k.size(1), G = H / Hkv;
  const int64_t Dv = v.size(3);  // v's head dim may differ from q's (MLA)
  const std::vector<double> Q = q.to_vector(), K = k.to_vector(), V = v.to_vector();
  std::vector<double> O(size_t(B * H * T * Dv)), L(size_t(B * H * T)), dQ(Q.size()), dK(K.size()), dV(V.size());
  const std::vector<double> dO = dout.defined() ? dout.to_vector() : std::vector<double>(O.size());
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < H; ++h) {
      const int64_t qo = (b * H + h) * T * D, ko = (b * Hkv + h / G) * T * D;
      const int64_t oo = (b * H + h) * T * Dv, vo = (b * Hkv + h / G) * T * Dv;
      std::vector<double> P(size_t(T * T)), dP(size_t(T * T));
      const int64_t len = lengths.empty() ? T : lengths[size_t(b)];
      for (int64_t i = 0; i < len; ++i) {
        double mx = -INFINITY;
        for (int64_t j = 0; j < T; ++j) {
          double s = 0;
          for (int64_t c = 0; c < D; ++c) s += Q[qo + i * D + c] * K[ko + j * D + c];
          const double bias = slopes.empty() ? 0.0 : -double(slopes[size_t(h)]) * double(std::abs(i - j));
          const bool outside_window = window > 0 && j <= i - window;
          P[i * T + j] = ((causal && j > i) || j >= len || outside_window) ? -INFINITY : s * scale + bias;
          mx = std::max(mx, P[i * T + j]);
        }
        double sum = 0;
        for (int64_t j = 0; j < T; ++j) sum += std::exp(P[i * T + j] - mx);
        L[(b * H + h) * T + i] = mx + std::log(sum);
        for (int64_t j = 0; j < T; ++j) P[i * T + j] = std::exp(P[i * T + j] - mx) / sum;
        for (int64_t c = 0; c < Dv; ++c)
          for (int64_t j = 0; j < T; ++j) O[oo + i * Dv + c] += P[i * T + j] * V[vo + j * Dv + c];
      }
      // dP = dO V^T, dS = P * (dP - rowsum(dP * P)), dq = scale dS K, dk = scale dS^T Q, dv = P^T dO.
      for (int64_t i = 0; i < len; ++i) {
        double row = 0;
        for (int64_t j = 0; j < T; ++j) {
          for (int64_t c = 0; c < Dv; ++c) dP[i * T + j] += dO[oo + i * Dv + c] * V[vo + j * Dv + c];
          row += dP[i * T + j] * P[i * T + j];
        }
        for (int64_t j = 0; j < T; ++j) {
          const double ds = P[i * T + j] * (dP[i * T + j] - row) * scale;
          for (int64_t c = 0; c < D; ++c) {
            dQ[qo + i * D + c] += ds * K[ko + j * D + c];
            dK[ko + j * D + c] += ds * Q[qo + i * D + c];
          }
          for (int64_t c = 0; c < Dv; ++c) dV[vo + j * Dv + c] += P[i * T + j] * dO[oo + i * Dv + c];
        }
      }
    }
  }
  auto t = [](const std::vector<double>& x, const Shape& s) { return Tensor::from_vector(x, s, DType::f64); };
  return Naive{t(O, {B, H, T, Dv}), t(L, {B, H, T}), t(dQ, q.shape()), t(dK, k.shape()), t(dV, v.shape())};
}

kernels::AttentionOptions opts(bool causal, double scale) {
  kernels::AttentionOptions o;
  o.causal = causal;
  o.scale = scale;
  return o;
}

// q, k, v of the given sizes (f64, values in [-2, 2] so softmax rows are far from uniform).
std::vector<Tensor> qkv(int64_t B, int64_t H, int64_t Hkv, int64_t T, int64_t D, uint64_t seed) {
  return {random_tensor({B, H, T, D}, seed, -2, 2), random_tensor({B, Hkv, T, D}, seed + 1, -2, 2),
          random_tensor({B, Hkv, T, D}, seed + 2, -2, 2)};
}

TEST(AttentionGrad, GradcheckGqaAndMhaCausalAndNot) {
  struct Case {
    int64_t B, H, Hkv, T, D;
  };
  for (Case c : {Case{2, 4, 2, 5, 3}, Case{1, 2, 2, 7, 4}, Case{1, 3, 1, 6, 2}}) {
    for (bool causal : {true, false}) {
      auto fn = [causal](const std::vector<Variable>& x) {
        return scaled_dot_product_attention(x[0], x[1], x[2], causal);
      };
      LINEA_EXPECT_GRADCHECK(fn, qkv(c.B, c.H, c.Hkv, c.T, c.D, 10 * c.T + causal));
    }
  }
  // An explicit scale, and q given as a transposed [B,T,H,D] view.
  auto scaled = [](const std::vector<Variable>& x) {
    return scaled_dot_product_attention(x[0], x[1], x[2], true, 0.7);
  };
  std::vector<Tensor> in = qkv(1, 4, 2, 5, 3, 3);
  in[0] = random_tensor({1, 5, 4, 3}, 4, -2, 2).transpose(1, 2);
  LINEA_EXPECT_GRADCHECK(scaled, in);
}

TEST(AttentionValues, MatchNaiveReferenceAcrossQueryBlocks) {
  // T = 130 spans three 64-row query blocks of the CPU kernel (the last one partial).
  for (int64_t T : {5, 7, 130}) {
    for (bool causal : {true, false}) {
      std::vector<Tensor> in = qkv(2, 4, 2, T, 8, T + causal);
      Tensor dout = random_tensor({2, 4, T, 8}, 99);
      const double scale = 1 / std::sqrt(8.0);
      Naive ref = naive(in[0], in[1], in[2], causal, scale, dout);
      Tensor lse;
      Tensor out = kernels::attention_fwd(in[0], in[1], in[2], opts(causal, 0), &lse);
      EXPECT_EQ(lse.dtype(), DType::f64);
      EXPECT_TRUE(all_close(out, ref.out, 1e-12, 1e-12)) << "out T=" << T << " causal=" << causal;
      EXPECT_TRUE(all_close(lse, ref.lse, 1e-12, 1e-12)) << "lse T=" << T << " causal=" << causal;
      kernels::AttentionGrads g = kernels::attention_bwd(in[0], in[1], in[2], out, lse, dout, opts(causal, 0));
      EXPECT_TRUE(all_close(g.dq, ref.dq, 1e-11, 1e-10)) << "dq T=" << T << " causal=" << causal;
      EXPECT_TRUE(all_close(g.dk, ref.dk, 1e-11, 1e-10)) << "dk T=" << T << " causal=" << causal;
      EXPECT_TRUE(all_close(g.dv, ref.dv, 1e-11, 1e-10)) << "dv T=" << T << " causal=" << causal;
    }
  }
}

// MLA's shapes: v (and out) with a head dim of their own, here 8 for q/k and 5 for v, with
// grouped heads (its latent decode form is 1 kv head); T = 70 crosses a query block.
TEST(AttentionValues, ValueHeadDimMayDifferFromQueryKeyHeadDim) {
  for (bool causal : {true, false}) {
    std::vector<Tensor> in = qkv(2, 4, 1, 70, 8, 7 + causal);
    in[2] = random_tensor({2, 1, 70, 5}, 9, -2, 2);
    const Tensor dout = random_tensor({2, 4, 70, 5}, 10);
    const Naive ref = naive(in[0], in[1], in[2], causal, 0.3, dout);
    Tensor lse;
    const Tensor out = kernels::attention_fwd(in[0], in[1], in[2], opts(causal, 0.3), &lse);
    ASSERT_EQ(out.shape(), (Shape{2, 4, 70, 5}));
    EXPECT_TRUE(all_close(out, ref.out, 1e-12, 1e-12)) << causal;
    const kernels::AttentionGrads g = kernels::attention_bwd(in[0], in[1], in[2], out, lse, dout, opts(causal, 0.3));
    EXPECT_TRUE(all_close(g.dq, ref.dq, 1e-11, 1e-10)) << causal;
    EXPECT_TRUE(all_close(g.dk, ref.dk, 1e-11, 1e-10)) << causal;
    EXPECT_TRUE(all_close(g.dv, ref.dv, 1e-11, 1e-10)) << causal;
  }
  std::vector<Tensor> in = qkv(1, 2, 2, 6, 4, 11);
  in[2] = random_tensor({1, 2, 6, 3}, 12, -2, 2);
  LINEA_EXPECT_GRADCHECK([](const std::vector<Variable>& x) { return scaled_dot_product_attention(x[0], x[1], x[2], true); },
                         in);
}

TEST(AttentionValues, CausalFirstRowCopiesTheFirstValue) {
  // Query 0 sees only key 0 under the causal mask: out[.., 0, :] = v[.., 0, :], lse = scale q0.k0.
  std::vector<Tensor> in = qkv(1, 2, 1, 4, 3, 21);
  Tensor lse;
  Tensor out = kernels::attention_fwd(in[0], in[1], in[2], opts(true, 0.5), &lse);
  for (int64_t h = 0; h < 2; ++h) {
    double dot = 0;
    for (int64_t c = 0; c < 3; ++c) {
      EXPECT_DOUBLE_EQ(out.at({0, h, 0, c}), in[2].at({0, 0, 0, c}));
      dot += in[0].at({0, h, 0, c}) * in[1].at({0, 0, 0, c});
    }
    EXPECT_NEAR(lse.at({0, h, 0}), 0.5 * dot, 1e-15);
  }
}

TEST(AttentionValues, F32AndBf16AgainstF64) {
  // f32 vs the f64 kernel on the same f32-rounded inputs. A score sums D = 64 products of
  // values in [-2, 2]: f32 rounding ~ sqrt(D) * 6e-8 * |partial sums ~ 10| ~ 5e-6, ~6e-7
  // after the 1/8 scale; exp adds ~2 ulp; the output is a convex combination of |v| <= 2,
  // so errors are ~1e-6 and 2e-5 leaves margin. Gradients sum T = 200 such terms: 2e-4.
  std::vector<Tensor> in = qkv(2, 4, 2, 200, 64, 31);
  Tensor dout = random_tensor({2, 4, 200, 64}, 32);
  std::vector<Tensor> in32, in64;
  for (Tensor& t : in) {
    in32.push_back(t.to(DType::f32));
    in64.push_back(in32.back().to(DType::f64));
  }
  for (bool causal : {true, false}) {
    Tensor lse32, lse64;
    Tensor o32 = kernels::attention_fwd(in32[0], in32[1], in32[2], opts(causal, 0), &lse32);
    Tensor o64 = kernels::attention_fwd(in64[0], in64[1], in64[2], opts(causal, 0), &lse64);
    EXPECT_EQ(lse32.dtype(), DType::f32);
    EXPECT_TRUE(all_close(o32, o64, 2e-5, 1e-5));
    EXPECT_TRUE(all_close(lse32, lse64, 2e-5, 1e-6));
    kernels::AttentionGrads g32 =
        kernels::attention_bwd(in32[0], in32[1], in32[2], o32, lse32, dout.to(DType::f32), opts(causal, 0));
    kernels::AttentionGrads g64 =
        kernels::attention_bwd(in64[0], in64[1], in64[2], o64, lse64, dout.to(DType::f32).to(DType::f64), opts(causal, 0));
    EXPECT_TRUE(all_close(g32.dq, g64.dq, 2e-4, 1e-4));
    EXPECT_TRUE(all_close(g32.dk, g64.dk, 2e-4, 1e-4));
    EXPECT_TRUE(all_close(g32.dv, g64.dv, 2e-4, 1e-4));
    // bf16 runs the f32 kernel on rounded inputs and rounds each output once: 2^-8
    // relative, plus input rounding (2^-9 relative on q, k, v moves outputs by ~1e-2).
    Variable q(in[0].to(DType::bf16), true), k(in[1].to(DType::bf16), true), v(in[2].to(DType::bf16), true);
    Variable y = scaled_dot_product_attention(q, k, v, causal);
    EXPECT_EQ(y.dtype(), DType::bf16);
    EXPECT_TRUE(all_close(y.data(), o64, 3e-2, 2e-2));
    sum(mul(y, y)).backward();
    EXPECT_EQ(q.grad().dtype(), DType::bf16);
    EXPECT_EQ(k.grad().shape(), (Shape{2, 2, 200, 64}));
  }
}

TEST(AttentionValues, DefaultScaleAndGqaEqualsRepeatedKv) {
  std::vector<Tensor> in = qkv(1, 4, 2, 6, 5, 41);
  Tensor a = scaled_dot_product_attention(Variable(in[0]), Variable(in[1]), Variable(in[2]), false).data();
  Tensor b = kernels::attention_fwd(in[0], in[1], in[2], opts(false, 1 / std::sqrt(5.0)), nullptr);
  EXPECT_TRUE(all_close(a, b, 0, 0));
  // GQA = MHA with each kv head repeated for its H/Hkv query heads; dk/dv sum the repeats.
  Tensor krep = Tensor::empty({1, 4, 6, 5}, DType::f64), vrep = Tensor::empty({1, 4, 6, 5}, DType::f64);
  for (int64_t h = 0; h < 4; ++h) {
    krep.select(1, h).copy_(in[1].select(1, h / 2));
    vrep.select(1, h).copy_(in[2].select(1, h / 2));
  }
  Variable k(in[1], true), kr(krep, true);
  Tensor r = scaled_dot_product_attention(Variable(in[0]), Variable(krep), Variable(vrep), false).data();
  EXPECT_TRUE(all_close(a, r, 1e-14, 1e-14));
  sum(scaled_dot_product_attention(Variable(in[0]), k, Variable(in[2]), true)).backward();
  sum(scaled_dot_product_attention(Variable(in[0]), kr, Variable(vrep), true)).backward();
  for (int64_t g = 0; g < 2; ++g) {
    std::vector<double> s = kr.grad().select(1, 2 * g).to_vector(), other = kr.grad().select(1, 2 * g + 1).to_vector();
    for (size_t i = 0; i < s.size(); ++i) s[i] += other[i];
    EXPECT_TRUE(all_close(k.grad().select(1, g), Tensor::from_vector(s, {1, 6, 5}, DType::f64), 1e-13, 1e-12));
  }
}

TEST(AttentionErrors, ShapesHeadsAndDtypes) {
  Variable q(Tensor::zeros({1, 4, 5, 8})), k(Tensor::zeros({1, 2, 5, 8})), v(Tensor::zeros({1, 2, 5, 8}));
  Variable k3(Tensor::zeros({1, 3, 5, 8})), k6(Tensor::zeros({1, 2, 6, 8}));
  linea::testing::expect_error<ShapeError>([&] { scaled_dot_product_attention(q, k3, k3, true); },
               "query heads H = 4 must be a multiple of kv heads Hkv = 3");
  linea::testing::expect_error<ShapeError>([&] { scaled_dot_product_attention(q, k6, k6, true); }, "does not match q f32[1, 4, 5, 8]");
  linea::testing::expect_error<ShapeError>([&] { scaled_dot_product_attention(q, k, Variable(Tensor::zeros({1, 2, 6, 8})), true); },
               "must agree in batch, heads and sequence length");
  linea::testing::expect_error<ShapeError>([&] { scaled_dot_product_attention(Variable(Tensor::zeros({4, 5, 8})), k, v, true); },
               "expected q [B, H, T, D] with 4 dims, got f32[4, 5, 8]");
  linea::testing::expect_error<ShapeError>([&] { scaled_dot_product_attention(q, Variable(k.data().to(DType::f64)), v, true); }, "f64");
  linea::testing::expect_error<ShapeError>([&] { scaled_dot_product_attention(Variable(Tensor::zeros({1, 4, 5, 8}, DType::i64)), k, v, true); },
               "i64");
  Tensor lse;
  Tensor out = kernels::attention_fwd(q.data(), k.data(), v.data(), opts(true, 0), &lse);
  linea::testing::expect_error<ShapeError>([&] { kernels::attention_bwd(q.data(), k.data(), v.data(), out, lse.to(DType::f64), out, opts(true, 0)); },
               "lse f64[1, 4, 5] on cpu should be f32[1, 4, 5]");
}

// ---- ALiBi and variable-length sequences -----------------------------------------------

TEST(AttentionAlibi, SlopesFollowPressEtAl) {
  // Power of two n: 2^(-8k/n), k = 1..n.
  for (int64_t n : {8, 16}) {
    std::vector<float> s = kernels::alibi_slopes(n);
    ASSERT_EQ(int64_t(s.size()), n);
    for (int64_t k = 1; k <= n; ++k) EXPECT_FLOAT_EQ(s[size_t(k - 1)], float(std::exp2(-8.0 * k / n))) << n << " " << k;
  }
  // 12 heads (MosaicBERT-Base), spelled out in specs/mosaicbert.md section 1.5.
  const std::vector<double> base = {0.5,       0.25,          0.125,         0.0625,        0.03125,       0.015625,
                                    0.0078125, 0.00390625,    std::exp2(-0.5), std::exp2(-1.5), std::exp2(-2.5),
                                    std::exp2(-3.5)};
  std::vector<float> s12 = kernels::alibi_slopes(12);
  ASSERT_EQ(s12.size(), base.size());
  for (size_t i = 0; i < base.size(); ++i) EXPECT_FLOAT_EQ(s12[i], float(base[i])) << i;
  // 24 heads: the 16 slopes 2^(-k/2), then the odd-k slopes 2^(-k/4) of 32 heads, k = 1, 3, .., 15.
  std::vector<float> s24 = kernels::alibi_slopes(24);
  ASSERT_EQ(s24.size(), 24u);
  for (int64_t k = 1; k <= 16; ++k) EXPECT_FLOAT_EQ(s24[size_t(k - 1)], float(std::exp2(-k / 2.0)));
  for (int64_t i = 0; i < 8; ++i) EXPECT_FLOAT_EQ(s24[size_t(16 + i)], float(std::exp2(-(2 * i + 1) / 4.0)));
}

// Options for ALiBi on H heads plus the given segments.
kernels::AttentionOptions alibi_opts(int64_t H, bool causal, kernels::AttentionSegments segments) {
  kernels::AttentionOptions o = opts(causal, 0);
  const std::vector<float> slopes = kernels::alibi_slopes(H);
  o.alibi_slopes = Tensor::from_vector(std::vector<double>(slopes.begin(), slopes.end()), {H}, DType::f32);
  o.segments = std::move(segments);
  return o;
}

TEST(AttentionVarlen, PaddedLengthsWithAlibiMatchNaiveMaskedReference) {
  // T = 70 crosses the CPU kernel's 64-row query block; an empty row and a full row included.
  const int64_t B = 4, H = 4, Hkv = 2, T = 70, D = 8;
  const std::vector<int64_t> lengths = {70, 33, 1, 0};
  for (bool causal : {false, true}) {
    std::vector<Tensor> in = qkv(B, H, Hkv, T, D, 300 + causal);
    Tensor dout = random_tensor({B, H, T, D}, 310);
    kernels::AttentionOptions o = alibi_opts(H, causal, kernels::AttentionSegments::padded(lengths, T));
    Naive ref = naive(in[0], in[1], in[2], causal, 1 / std::sqrt(double(D)), dout, kernels::alibi_slopes(H), lengths);
    Tensor lse;
    Tensor out = kernels::attention_fwd(in[0], in[1], in[2], o, &lse);
    EXPECT_TRUE(all_close(out, ref.out, 1e-12, 1e-12)) << "causal " << causal;
    EXPECT_TRUE(all_close(lse, ref.lse, 1e-12, 1e-12)) << "causal " << causal;
    kernels::AttentionGrads g = kernels::attention_bwd(in[0], in[1], in[2], out, lse, dout, o);
    EXPECT_TRUE(all_close(g.dq, ref.dq, 1e-11, 1e-10)) << "causal " << causal;
    EXPECT_TRUE(all_close(g.dk, ref.dk, 1e-11, 1e-10)) << "causal " << causal;
    EXPECT_TRUE(all_close(g.dv, ref.dv, 1e-11, 1e-10)) << "causal " << causal;
  }
}

TEST(AttentionVarlen, UnpaddedEqualsPaddedWithKeyMask) {
  // The packed layout [1, H, total, D] with cu_seqlens gives, row for row, what the padded
  // layout with a key mask gives on the real tokens: forward and all three gradients.
  const int64_t B = 3, H = 3, T = 20, D = 4;
  const std::vector<int64_t> lengths = {20, 7, 13};
  std::vector<Tensor> in = qkv(B, H, H, T, D, 400);
  Tensor dout = random_tensor({B, H, T, D}, 410);
  std::vector<int64_t> cu = {0}, rows;  // rows: flat b*T + t of the real tokens
  for (int64_t b = 0; b < B; ++b) {
    cu.push_back(cu.back() + lengths[size_t(b)]);
    for (int64_t t = 0; t < lengths[size_t(b)]; ++t) rows.push_back(b * T + t);
  }
  const int64_t N = cu.back();
  // [B,H,T,D] -> [1,H,N,D] through [H, B*T, D] and the real rows.
  auto pack = [&](const Tensor& x) {
    Tensor flat = x.permute({1, 0, 2, 3}).contiguous().reshape({H, B * T, D});
    Tensor packed = Tensor::empty({1, H, N, D}, x.dtype());
    for (int64_t r = 0; r < N; ++r) packed.select(0, 0).select(1, r).copy_(flat.select(1, rows[size_t(r)]));
    return packed;
  };
  for (bool causal : {false, true}) {
    kernels::AttentionOptions padded = alibi_opts(H, causal, kernels::AttentionSegments::padded(lengths, T));
    kernels::AttentionOptions packed = alibi_opts(H, causal, kernels::AttentionSegments::packed(cu));
    Tensor lse_p, lse_u;
    Tensor out_p = kernels::attention_fwd(in[0], in[1], in[2], padded, &lse_p);
    Tensor out_u = kernels::attention_fwd(pack(in[0]), pack(in[1]), pack(in[2]), packed, &lse_u);
    EXPECT_TRUE(all_close(out_u, pack(out_p), 1e-14, 1e-14));
    kernels::AttentionGrads gp = kernels::attention_bwd(in[0], in[1], in[2], out_p, lse_p, dout, padded);
    kernels::AttentionGrads gu =
        kernels::attention_bwd(pack(in[0]), pack(in[1]), pack(in[2]), out_u, lse_u, pack(dout), packed);
    EXPECT_TRUE(all_close(gu.dq, pack(gp.dq), 1e-13, 1e-13));
    EXPECT_TRUE(all_close(gu.dk, pack(gp.dk), 1e-13, 1e-13));
    EXPECT_TRUE(all_close(gu.dv, pack(gp.dv), 1e-13, 1e-13));
    // Padding rows of the padded layout: zero output and zero gradients.
    auto all_zero = [](const Tensor& t) {
      for (double x : t.to_vector())
        if (x != 0) return false;
      return true;
    };
    EXPECT_TRUE(all_zero(out_p.select(0, 1).narrow(1, 7, 13)));
    EXPECT_TRUE(all_zero(gp.dk.select(0, 2).narrow(1, 13, 7)));
  }
}

TEST(AttentionVarlen, GradcheckAlibiPackedAndPadded) {
  for (bool causal : {false, true}) {
    auto packed = [causal](const std::vector<Variable>& x) {
      return scaled_dot_product_attention(x[0], x[1], x[2], alibi_opts(4, causal, kernels::AttentionSegments::packed({0, 4, 5, 9})));
    };
    LINEA_EXPECT_GRADCHECK(packed, qkv(1, 4, 2, 9, 3, 500 + causal));
    auto padded = [causal](const std::vector<Variable>& x) {
      return scaled_dot_product_attention(x[0], x[1], x[2], alibi_opts(2, causal, kernels::AttentionSegments::padded({6, 2}, 6)));
    };
    LINEA_EXPECT_GRADCHECK(padded, qkv(2, 2, 1, 6, 3, 510 + causal));
  }
}

TEST(AttentionVarlen, BadSegmentsAndSlopesAreErrors) {
  Tensor x = Tensor::zeros({2, 2, 5, 4});
  kernels::AttentionOptions o;
  o.segments = kernels::AttentionSegments::packed({0, 3, 7});  // [3, 7) crosses from entry 0 into entry 1
  linea::testing::expect_error<ShapeError>([&] { kernels::attention_fwd(x, x, x, o, nullptr); },
                                           "segment 1 [3, 7) must lie within one batch entry of the 2 x 5 rows");
  o.segments = {};
  o.alibi_slopes = Tensor::zeros({3});
  linea::testing::expect_error<ShapeError>([&] { kernels::attention_fwd(x, x, x, o, nullptr); },
                                           "alibi_slopes f32[3] on cpu should be f32[2], one slope per query head");
}

}  // namespace

namespace {

kernels::AttentionOptions window_opts(int64_t window) {
  kernels::AttentionOptions o = opts(true, 0);
  o.window = window;
  return o;
}

TEST(AttentionSlidingWindow, MatchesNaiveMaskedReferenceForWindowsBelowAtAndAboveT) {
  // T = 130 spans three 64-row query blocks; windows of 1 (only the diagonal), inside a
  // block, across block boundaries, equal to T and larger than T (plain causal); GQA,
  // ALiBi and padded lengths (an empty and a one-token row) in the mix.
  const int64_t B = 3, H = 4, Hkv = 2, D = 8;
  for (int64_t T : {7, 130}) {
    const std::vector<int64_t> lengths = {T, T / 2, 1};
    for (int64_t window : {int64_t(1), int64_t(5), int64_t(64), int64_t(70), T, T + 50}) {
      for (bool alibi : {false, true}) {
        std::vector<Tensor> in = qkv(B, H, Hkv, T, D, 600 + T + window);
        Tensor dout = random_tensor({B, H, T, D}, 610);
        kernels::AttentionOptions o = window_opts(window);
        std::vector<float> slopes;
        if (alibi) {
          o = alibi_opts(H, true, kernels::AttentionSegments::padded(lengths, T));
          o.window = window;
          slopes = kernels::alibi_slopes(H);
        }
        const std::vector<int64_t> real = alibi ? lengths : std::vector<int64_t>{};
        Naive ref = naive(in[0], in[1], in[2], true, 1 / std::sqrt(double(D)), dout, slopes, real, window);
        const std::string what = str_cat("T ", T, " window ", window, alibi ? " alibi+padded" : "");
        Tensor lse;
        Tensor out = kernels::attention_fwd(in[0], in[1], in[2], o, &lse);
        EXPECT_TRUE(all_close(out, ref.out, 1e-12, 1e-12)) << what;
        EXPECT_TRUE(all_close(lse, ref.lse, 1e-12, 1e-12)) << what;
        kernels::AttentionGrads g = kernels::attention_bwd(in[0], in[1], in[2], out, lse, dout, o);
        EXPECT_TRUE(all_close(g.dq, ref.dq, 1e-11, 1e-10)) << "dq " << what;
        EXPECT_TRUE(all_close(g.dk, ref.dk, 1e-11, 1e-10)) << "dk " << what;
        EXPECT_TRUE(all_close(g.dv, ref.dv, 1e-11, 1e-10)) << "dv " << what;
      }
    }
  }
}

TEST(AttentionSlidingWindow, AWindowOfTAtLeastIsPlainCausalBitForBit) {
  std::vector<Tensor> in = qkv(1, 2, 1, 70, 4, 620);
  Tensor causal = kernels::attention_fwd(in[0], in[1], in[2], opts(true, 0), nullptr);
  for (int64_t window : {70, 500})
    EXPECT_TRUE(all_close(kernels::attention_fwd(in[0], in[1], in[2], window_opts(window), nullptr), causal, 0, 0))
        << window;
}

TEST(AttentionSlidingWindow, KeysBeforeAQueryBlocksWindowAreNeverRead) {
  // NaN in key/value 30: with window 10 only rows 30..39 may see it. The CPU kernel reads,
  // per 64-row query block, the keys from the block's first row's window on, so rows of the
  // blocks [64, 128) and [128, 130) (keys from 55 and 119) must stay finite; a kernel that
  // read every earlier key and masked the scores would spread 0 * NaN = NaN into them.
  std::vector<Tensor> in = qkv(1, 2, 2, 130, 4, 630);
  for (int i : {1, 2}) in[size_t(i)].select(2, 30).fill_(NAN);
  Tensor out = kernels::attention_fwd(in[0], in[1], in[2], window_opts(10), nullptr);
  for (double x : out.narrow(2, 64, 66).to_vector()) ASSERT_TRUE(std::isfinite(x));
  for (double x : out.narrow(2, 30, 10).to_vector()) ASSERT_TRUE(std::isnan(x));
}

TEST(AttentionSlidingWindow, GradcheckPackedSegmentsWithGqa) {
  auto fn = [](const std::vector<Variable>& x) {
    kernels::AttentionOptions o = window_opts(3);
    o.segments = kernels::AttentionSegments::packed({0, 5, 6, 11});
    return scaled_dot_product_attention(x[0], x[1], x[2], o);
  };
  LINEA_EXPECT_GRADCHECK(fn, qkv(1, 4, 2, 11, 3, 640));
}

TEST(AttentionSlidingWindow, NegativeOrNonCausalWindowIsAnError) {
  Tensor x = Tensor::zeros({1, 2, 5, 4});
  kernels::AttentionOptions o = window_opts(-1);
  linea::testing::expect_error<ShapeError>([&] { kernels::attention_fwd(x, x, x, o, nullptr); },
                                           "window -1 must be >= 0, and a sliding window (> 0) needs causal attention");
  o = opts(false, 0);
  o.window = 4;
  linea::testing::expect_error<ShapeError>([&] { kernels::attention_fwd(x, x, x, o, nullptr); }, "needs causal attention");
}

}  // namespace
