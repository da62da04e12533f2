// The short causal depthwise convolution (core/kernels/short_conv.h) against its definition,
// y[t, c] = Σ_j w[c, j] x[t - (W-1) + j, c] with earlier inputs from the state (PyTorch's
// Conv1d with groups = C and W-1 left padding when the state is zero), on packed sequences
// that must not see each other, padded rows, a sequence shorter than W-1 (its final state
// reaches into the initial one), and through the op's gradcheck. f64: 1e-13 absolute.
#include <gtest/gtest.h>

#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/short_conv.h"
#include "autograd/ops/views.h"
#include "support/testing.h"

using namespace linea;

namespace {

constexpr int64_t C = 5, W = 4;

struct Seq {
  int64_t start, length;  // flat rows of [B*T]
};

// y and the final state, from the definition.
std::pair<std::vector<double>, std::vector<double>> definition(const Tensor& x, const Tensor& w, const Tensor& s0,
                                                               const std::vector<Seq>& seqs) {
  const std::vector<double> xv = x.to_vector(), wv = w.to_vector();
  const std::vector<double> sv = s0.defined() ? s0.to_vector() : std::vector<double>(seqs.size() * C * (W - 1), 0.0);
  std::vector<double> y(xv.size(), 0.0), fin(seqs.size() * C * (W - 1));
  for (size_t s = 0; s < seqs.size(); ++s) {
    auto input = [&](int64_t p, int64_t c) {
      return p >= 0 ? xv[size_t((seqs[s].start + p) * C + c)] : sv[size_t((int64_t(s) * C + c) * (W - 1) + p + W - 1)];
    };
    for (int64_t t = 0; t < seqs[s].length; ++t)
      for (int64_t c = 0; c < C; ++c) {
        double acc = 0;
        for (int64_t j = 0; j < W; ++j) acc += wv[size_t(c * W + j)] * input(t - (W - 1) + j, c);
        y[size_t((seqs[s].start + t) * C + c)] = acc;
      }
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < W - 1; ++i)
        fin[size_t((int64_t(s) * C + c) * (W - 1) + i)] = input(seqs[s].length - (W - 1) + i, c);
  }
  return {y, fin};
}

double max_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

TEST(ShortConv, EqualsTheDefinitionOnPackedAndPaddedSequences) {
  // Batch entry 0 holds sequences of 6 and 2 rows (shorter than W-1), entry 1 one of 5 and 3 padding rows.
  const std::vector<int64_t> cu = {0, 6, 8, 13};
  const std::vector<Seq> seqs = {{0, 6}, {6, 2}, {8, 5}};
  const Tensor x = linea::testing::random_tensor({2, 8, C}, 1), w = linea::testing::random_tensor({C, W}, 2);
  const Tensor s0 = linea::testing::random_tensor({3, C, W - 1}, 3);
  for (bool with_state : {false, true}) {
    Tensor fin;
    const Tensor y = kernels::short_conv_fwd(x, w, kernels::AttentionSegments::packed(cu), with_state ? s0 : Tensor(), &fin);
    const auto [want_y, want_fin] = definition(x, w, with_state ? s0 : Tensor(), seqs);
    EXPECT_LE(max_diff(y.to_vector(), want_y), 1e-13);
    EXPECT_LE(max_diff(fin.to_vector(), want_fin), 1e-13);
  }
}

TEST(ShortConv, PiecesThroughTheStateEqualOnePass) {
  const Tensor x = linea::testing::random_tensor({1, 11, C}, 4), w = linea::testing::random_tensor({C, W}, 5);
  Tensor fin_whole, fin_a, fin_b;
  const Tensor whole = kernels::short_conv_fwd(x, w, {}, Tensor(), &fin_whole);
  const Tensor a = kernels::short_conv_fwd(x.slice(1, 0, 2), w, {}, Tensor(), &fin_a);  // shorter than W-1
  const Tensor b = kernels::short_conv_fwd(x.slice(1, 2, 11), w, {}, fin_a, &fin_b);
  EXPECT_LE(max_diff(whole.slice(1, 0, 2).to_vector(), a.to_vector()), 1e-14);
  EXPECT_LE(max_diff(whole.slice(1, 2, 11).to_vector(), b.to_vector()), 1e-14);
  EXPECT_LE(max_diff(fin_whole.to_vector(), fin_b.to_vector()), 1e-14);
}

TEST(ShortConv, Gradcheck) {
  const std::vector<int64_t> cu = {0, 6, 8, 13};
  const kernels::AttentionSegments seg = kernels::AttentionSegments::packed(cu);
  LINEA_EXPECT_GRADCHECK(
      [&](const std::vector<Variable>& in) {
        const ShortConvOutput r = short_conv(in[0], in[1], seg, in[2]);
        return sum(r.y * r.y) + sum(r.final_state * r.final_state);
      },
      (std::vector<Tensor>{linea::testing::random_tensor({2, 8, C}, 6), linea::testing::random_tensor({C, W}, 7),
                           linea::testing::random_tensor({3, C, W - 1}, 8)}));
}

TEST(ShortConv, RejectsBadShapes) {
  const Tensor x = linea::testing::random_tensor({1, 4, C}, 9);
  EXPECT_THROW(kernels::short_conv_fwd(x, linea::testing::random_tensor({C + 1, W}, 10), {}, Tensor(), nullptr), Error);
  EXPECT_THROW(kernels::short_conv_fwd(x, linea::testing::random_tensor({C, W}, 10), {}, linea::testing::random_tensor({1, W - 1, C}, 11),
                                       nullptr),
               Error);
}

}  // namespace
