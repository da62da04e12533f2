// CPU-vs-CUDA parity of the short causal depthwise convolution: output, final state and
// every gradient (dx, dweight, the initial state's), on packed sequences with padding rows,
// sequences shorter than W-1 (whose final state reaches into the initial one) and an empty
// one; with and without states (skipped without a GPU).
// Tolerances: f32 — each output is a sum of W <= 4 products of values in [-1, 1) (error
// ~1e-7); dweight sums up to B*T products per tap in a different order on each device
// (CPU: rows in order per thread's channels; CUDA: per sequence, then sequences in order),
// ~1e-7 * sqrt(rows) relative: 1e-5 of the scale covers both. bf16/f16 — same inputs, f32
// arithmetic, one rounding of each GPU result: 2^-8 of the scale more.
#include <gtest/gtest.h>

#include <string>

#include "core/kernels/short_conv.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

namespace {
const Device kGpu = Device::cuda(0);
const Device kCpu = Device::cpu();

void expect_parity(int64_t B, int64_t T, int64_t C, int64_t W, const kernels::AttentionSegments& segments,
                   bool state, DType dt, uint64_t seed) {
  const std::string what = str_cat("B", B, " T", T, " C", C, " W", W, " ", dtype_name(dt), state ? " state" : "",
                                   segments.empty() ? "" : str_cat(" ", segments.start.size(), " segments"));
  const double tol = dt == DType::f32 ? 1e-5 : 1.0 / 256 + 1e-5;
  const int64_t N = segments.empty() ? B : int64_t(segments.start.size());
  auto input = [&](const Shape& s, uint64_t k) { return random_tensor(s, seed + k).to(dt).to(DType::f32); };
  const Tensor x = input({B, T, C}, 0), w = input({C, W}, 1), dy = input({B, T, C}, 2);
  const Tensor s0 = state ? input({N, C, W - 1}, 3) : Tensor(), dfinal = input({N, C, W - 1}, 4);
  auto gpu = [&](const Tensor& t) { return t.defined() ? t.to(kGpu, dt) : Tensor(); };
  Tensor fin, fin_g;
  const Tensor y = kernels::short_conv_fwd(x, w, segments, s0, &fin);
  const Tensor y_g = kernels::short_conv_fwd(gpu(x), gpu(w), segments, gpu(s0), &fin_g);
  EXPECT_TRUE(close_to_scale(y_g.to(kCpu, DType::f32), y, tol)) << "y " << what;
  EXPECT_TRUE(close_to_scale(fin_g.to(kCpu, DType::f32), fin, tol)) << "final state " << what;
  const kernels::ShortConvGrads g = kernels::short_conv_bwd(x, w, dy, segments, s0, dfinal);
  const kernels::ShortConvGrads gg = kernels::short_conv_bwd(gpu(x), gpu(w), gpu(dy), segments, gpu(s0), gpu(dfinal));
  EXPECT_TRUE(close_to_scale(gg.dx.to(kCpu, DType::f32), g.dx, tol)) << "dx " << what;
  EXPECT_TRUE(close_to_scale(gg.dweight.to(kCpu, DType::f32), g.dweight, tol)) << "dweight " << what;
  ASSERT_EQ(gg.dinitial_state.defined(), state) << what;
  if (state) {
    EXPECT_TRUE(close_to_scale(gg.dinitial_state.to(kCpu, DType::f32), g.dinitial_state, tol)) << what;
  }
}

TEST(CudaShortConv, MatchesCpu) {
  LINEA_REQUIRE_GPU();
  for (int64_t W : {2, 4})
    for (bool state : {false, true}) {
      expect_parity(3, 50, 37, W, {}, state, DType::f32, 1);
      // Lengths 1 and 2 (shorter than W-1 = 3), an empty sequence, padding rows 60..63.
      expect_parity(1, 64, 300, W, kernels::AttentionSegments::packed({0, 1, 3, 3, 40, 60}), state, DType::f32, 2);
    }
}

TEST(CudaShortConv, HalfPrecisionMatchesCpu) {
  LINEA_REQUIRE_GPU();
  for (DType dt : {DType::bf16, DType::f16})
    expect_parity(2, 33, 64, 4, kernels::AttentionSegments::padded({33, 5}, 33), true, dt, 3);
}

}  // namespace
