// CPU-vs-CUDA parity of Lightning attention: forward, final state and every gradient
// (dq, dk, dv, the initial state's), causal with and without decay and non-causal, head
// dims 32 to 256 including 96 and 192, T below, at and across the CUDA kernel's 32-row
// tiles and the CPU's 64-row blocks, packed sequences with padding (skipped without a GPU).
// Tolerances: f32 — both devices compute in f32 from the same inputs, in different orders
// (CPU: Eigen products over 64-row blocks; CUDA: FMA chains over 32-row tiles). The CPU
// kernel is within 1e-5 of the output's scale of the exact f64 result
// (tests/autograd/lightning_attention_test.cpp), the CUDA kernel makes errors of the same
// kind, so 2e-5 of the scale. bf16 — the same bf16 values on both devices, f32 arithmetic,
// the GPU rounds each output once to bf16 (unit roundoff 2^-8 of the value, so at most 2^-8
// of the scale) where the CPU (f32 only) keeps f32: 2^-8 + 2e-5 of the scale.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/kernels/lightning_attention.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

namespace {
const Device kGpu = Device::cuda(0);
const Device kCpu = Device::cpu();

struct Case {
  int64_t B, H, T, Dk, Dv;
  bool decay = true, state = true, causal = true;
  kernels::AttentionSegments segments = {};
};

std::string describe(const Case& c, DType dt) {
  return str_cat("B", c.B, " H", c.H, " T", c.T, " Dk", c.Dk, " Dv", c.Dv, " ", dtype_name(dt),
                 c.decay ? " decay" : "", c.state ? " state" : "", c.causal ? "" : " non-causal",
                 c.segments.empty() ? "" : str_cat(" ", c.segments.start.size(), " segments"));
}

// Per-head decays s_h from 0.02 (λ ≈ 0.98, long memory) to 1.2 (λ ≈ 0.3).
kernels::LightningOptions options(const Case& c, Device device) {
  kernels::LightningOptions o;
  o.causal = c.causal;
  o.segments = c.segments;
  if (c.decay) {
    std::vector<double> s;
    for (int64_t h = 0; h < c.H; ++h) s.push_back(0.02 + 1.18 * double(h) / double(std::max<int64_t>(1, c.H - 1)));
    o.decay = Tensor::from_vector(s, {c.H}, DType::f32).to(device);
  }
  return o;
}

void expect_parity(const Case& c, DType dt, uint64_t seed) {
  const std::string what = describe(c, dt);
  const double tol = dt == DType::f32 ? 2e-5 : 1.0 / 256 + 2e-5;
  const int64_t N = c.segments.empty() ? c.B : int64_t(c.segments.start.size());
  // Values of size 0.5 keep scores O(1); rounded to dt first so both devices see the same inputs.
  auto input = [&](const Shape& s, uint64_t k) { return random_tensor(s, seed + k, -0.5, 0.5).to(dt).to(DType::f32); };
  const Tensor q = input({c.B, c.H, c.T, c.Dk}, 0), k = input({c.B, c.H, c.T, c.Dk}, 1),
               v = input({c.B, c.H, c.T, c.Dv}, 2), dout = input({c.B, c.H, c.T, c.Dv}, 3);
  const Tensor s0 = c.state ? input({N, c.H, c.Dk, c.Dv}, 4) : Tensor();
  const Tensor dfinal = input({N, c.H, c.Dk, c.Dv}, 5);
  auto gpu = [&](const Tensor& t) { return t.defined() ? t.to(kGpu, dt) : Tensor(); };
  const kernels::LightningOptions cpu_opt = options(c, kCpu), gpu_opt = options(c, kGpu);

  Tensor fin, fin_g;
  const Tensor out = kernels::lightning_attn_fwd(q, k, v, cpu_opt, s0, &fin);
  const Tensor out_g = kernels::lightning_attn_fwd(gpu(q), gpu(k), gpu(v), gpu_opt, gpu(s0), &fin_g);
  EXPECT_EQ(out_g.dtype(), dt) << what;
  EXPECT_TRUE(close_to_scale(out_g.to(kCpu, DType::f32), out, tol)) << "out " << what;
  EXPECT_TRUE(close_to_scale(fin_g.to(kCpu, DType::f32), fin, tol)) << "final state " << what;

  const kernels::LightningGrads g = kernels::lightning_attn_bwd(q, k, v, dout, cpu_opt, s0, dfinal);
  const kernels::LightningGrads gg =
      kernels::lightning_attn_bwd(gpu(q), gpu(k), gpu(v), gpu(dout), gpu_opt, gpu(s0), gpu(dfinal));
  EXPECT_TRUE(close_to_scale(gg.dq.to(kCpu, DType::f32), g.dq, tol)) << "dq " << what;
  EXPECT_TRUE(close_to_scale(gg.dk.to(kCpu, DType::f32), g.dk, tol)) << "dk " << what;
  EXPECT_TRUE(close_to_scale(gg.dv.to(kCpu, DType::f32), g.dv, tol)) << "dv " << what;
  ASSERT_EQ(gg.dinitial_state.defined(), c.state) << what;
  if (c.state) {
    EXPECT_TRUE(close_to_scale(gg.dinitial_state.to(kCpu, DType::f32), g.dinitial_state, tol)) << what;
  }
}

TEST(CudaLightning, MatchesCpuAcrossHeadDimsAndLengths) {
  LINEA_REQUIRE_GPU();
  const std::vector<std::pair<int64_t, int64_t>> dims = {{32, 32}, {64, 64}, {96, 128}, {192, 64}, {128, 256}};
  for (auto [Dk, Dv] : dims)
    for (int64_t T : {1, 31, 32, 33, 100})
      for (bool decay : {true, false}) {
        Case c{2, 3, T, Dk, Dv};
        c.decay = decay;
        c.state = T != 31;  // one length without an initial state
        expect_parity(c, DType::f32, 10);
      }
}

TEST(CudaLightning, LongSequenceWithStrongDecay) {
  LINEA_REQUIRE_GPU();
  expect_parity(Case{1, 4, 1000, 64, 64}, DType::f32, 20);
}

TEST(CudaLightning, PackedSequencesWithPaddingMatchCpu) {
  LINEA_REQUIRE_GPU();
  Case c{1, 2, 100, 64, 96};
  c.segments = kernels::AttentionSegments::packed({0, 17, 26, 90});  // rows 90..99 are padding
  expect_parity(c, DType::f32, 30);
  c.segments = kernels::AttentionSegments::padded({70, 1, 0}, 70);  // an empty and a one-token sequence
  c.B = 3;
  c.T = 70;
  expect_parity(c, DType::f32, 31);
}

TEST(CudaLightning, NonCausalMatchesCpu) {
  LINEA_REQUIRE_GPU();
  Case c{1, 2, 80, 64, 32};
  c.decay = false;
  c.causal = false;
  c.segments = kernels::AttentionSegments::packed({0, 33, 80});
  expect_parity(c, DType::f32, 40);
}

TEST(CudaLightning, HalfPrecisionInputsMatchCpu) {
  LINEA_REQUIRE_GPU();
  for (DType dt : {DType::bf16, DType::f16}) expect_parity(Case{2, 2, 77, 64, 64}, dt, 50);
}

TEST(CudaLightning, RefusesHeadDimsBeyond256AndF64) {
  LINEA_REQUIRE_GPU();
  const Tensor q = Tensor::zeros({1, 1, 4, 320}, DType::f32, kGpu), v = Tensor::zeros({1, 1, 4, 8}, DType::f32, kGpu);
  expect_error([&] { kernels::lightning_attn_fwd(q, q, v, {}, Tensor(), nullptr); }, "head dims up to 256");
  const Tensor q64 = Tensor::zeros({1, 1, 4, 8}, DType::f64, kGpu);
  expect_error([&] { kernels::lightning_attn_fwd(q64, q64, q64, {}, Tensor(), nullptr); }, "f64 runs on the CPU only");
}

}  // namespace
