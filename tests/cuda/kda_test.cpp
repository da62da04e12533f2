// CPU-vs-CUDA parity of Kimi Delta Attention: output, final state and every gradient (q, k,
// v, g, β, the initial state's) of the CUDA recurrence against the CPU chunked kernel run in
// f64 on the same values: K of 32 to 256 and not a multiple of 32, K != V, T = 1 and T across
// the backward's 64-token checkpoints, grouped value heads, packed sequences with padding,
// strong gates, no delta rule (skipped without a GPU).
// Tolerances: f32 — the CUDA kernel walks the recurrence in f32: each token adds rounding of
// ~1e-7 of the state's scale to a state that stays bounded (unit-norm k, β <= 1, decays
// <= 1), so after T <= 200 tokens the output is within 3e-5 of its scale, the bound the CPU
// f32 chunked kernel meets against f64 (tests/autograd/kda_test.cpp). The gradients run the
// same recurrence backwards and sum V per-column terms (dq, dk, dg, dβ, by atomicAdd in any
// order): 1e-4 of their scale. bf16/f16 — inputs rounded first, so both sides see the same
// values; each GPU result is rounded once (2^-8 of the scale) on top of the f32 error.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/kernels/kda.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

namespace {
const Device kGpu = Device::cuda(0);
const Device kCpu = Device::cpu();

struct Case {
  int64_t B, H, G, T, K, V;
  bool state = true, delta_rule = true, strong_gate = false;
  std::vector<int64_t> cu_seqlens = {};
  int64_t N() const { return cu_seqlens.empty() ? B : int64_t(cu_seqlens.size()) - 1; }
};

std::string describe(const Case& c, DType dt) {
  return str_cat("B", c.B, " H", c.H, " G", c.G, " T", c.T, " K", c.K, " V", c.V, " ", dtype_name(dt),
                 c.state ? " state" : "", c.delta_rule ? "" : " no-delta", c.strong_gate ? " strong gate" : "",
                 c.cu_seqlens.empty() ? "" : str_cat(" ", c.N(), " packed"));
}

// Rows of x [.., K] scaled to unit L2 norm (what the layer hands the kernel).
Tensor unit_rows(const Tensor& x) {
  std::vector<double> v = x.to_vector();
  const int64_t K = x.size(-1);
  for (size_t r = 0; r < v.size(); r += size_t(K)) {
    double n = 0;
    for (int64_t i = 0; i < K; ++i) n += v[r + size_t(i)] * v[r + size_t(i)];
    for (int64_t i = 0; i < K; ++i) v[r + size_t(i)] /= std::sqrt(n + 1e-6);
  }
  return Tensor::from_vector(v, x.shape(), DType::f64);
}

Tensor logsigmoid(const Tensor& x) {
  std::vector<double> v = x.to_vector();
  for (double& e : v) e = -std::log1p(std::exp(-e));
  return Tensor::from_vector(v, x.shape(), DType::f64);
}

void expect_parity(const Case& c, DType dt, uint64_t seed) {
  const std::string what = describe(c, dt);
  const double half = dt == DType::f32 ? 0.0 : 1.0 / 256;
  const double fwd_tol = 3e-5 + half, bwd_tol = 1e-4 + half;
  const int64_t HV = c.H * c.G;
  // Inputs as dt values held in f64: both devices see exactly these numbers.
  auto as_dt = [&](const Tensor& t) { return t.to(dt).to(DType::f64); };
  const Tensor q = as_dt(unit_rows(random_tensor({c.B, c.H, c.T, c.K}, seed)));
  const Tensor k = as_dt(unit_rows(random_tensor({c.B, c.H, c.T, c.K}, seed + 1)));
  const Tensor v = as_dt(random_tensor({c.B, HV, c.T, c.V}, seed + 2));
  // Log decays: logsigmoid of U(-3, 3), or about -20 per step for the strong gate.
  const Tensor g = as_dt(c.strong_gate ? random_tensor({c.B, HV, c.T, c.K}, seed + 3, -21, -19)
                                       : logsigmoid(random_tensor({c.B, HV, c.T, c.K}, seed + 3, -3, 3)));
  const Tensor beta = as_dt(random_tensor({c.B, HV, c.T}, seed + 4, 0, 1));
  const Tensor s0 = c.state ? as_dt(random_tensor({c.N(), HV, c.K, c.V}, seed + 5)) : Tensor();
  const Tensor dout = as_dt(random_tensor({c.B, HV, c.T, c.V}, seed + 6));
  const Tensor dfinal = as_dt(random_tensor({c.N(), HV, c.K, c.V}, seed + 7));
  kernels::KdaOptions opt;
  opt.delta_rule = c.delta_rule;
  if (!c.cu_seqlens.empty()) opt.segments = kernels::AttentionSegments::packed(c.cu_seqlens);
  auto gpu = [&](const Tensor& t) { return t.defined() ? t.to(kGpu, dt) : Tensor(); };
  auto back = [&](const Tensor& t) { return t.to(kCpu, DType::f64); };

  Tensor fin, fin_g, h, h_g;
  const Tensor out = kernels::kda_fwd(q, k, v, g, beta, opt, s0, &fin, &h);
  const Tensor out_g = kernels::kda_fwd(gpu(q), gpu(k), gpu(v), gpu(g), gpu(beta), opt, gpu(s0), &fin_g, &h_g);
  EXPECT_EQ(out_g.dtype(), dt) << what;
  EXPECT_TRUE(close_to_scale(back(out_g), out, fwd_tol)) << "out " << what;
  EXPECT_TRUE(close_to_scale(back(fin_g), fin, fwd_tol)) << "final state " << what;
  EXPECT_EQ(h_g.dtype(), DType::f32) << what;  // fp32 snapshots whatever the input type
  EXPECT_TRUE(close_to_scale(back(h_g), h, fwd_tol)) << "chunk states " << what;
  const Tensor out_r = kernels::kda_recurrent_fwd(gpu(q), gpu(k), gpu(v), gpu(g), gpu(beta), opt, gpu(s0), nullptr);
  EXPECT_TRUE(close_to_scale(back(out_r), out, fwd_tol)) << "recurrent out " << what;

  const kernels::KdaGrads r = kernels::kda_bwd(q, k, v, g, beta, dout, opt, s0, dfinal);
  const kernels::KdaGrads rg =
      kernels::kda_bwd(gpu(q), gpu(k), gpu(v), gpu(g), gpu(beta), gpu(dout), opt, gpu(s0), gpu(dfinal));
  EXPECT_TRUE(close_to_scale(back(rg.dq), r.dq, bwd_tol)) << "dq " << what;
  EXPECT_TRUE(close_to_scale(back(rg.dk), r.dk, bwd_tol)) << "dk " << what;
  EXPECT_TRUE(close_to_scale(back(rg.dv), r.dv, bwd_tol)) << "dv " << what;
  EXPECT_TRUE(close_to_scale(back(rg.dg), r.dg, bwd_tol)) << "dg " << what;
  EXPECT_TRUE(close_to_scale(back(rg.dbeta), r.dbeta, bwd_tol)) << "dbeta " << what;
  ASSERT_EQ(rg.dinitial_state.defined(), c.state) << what;
  if (c.state) {
    EXPECT_TRUE(close_to_scale(back(rg.dinitial_state), r.dinitial_state, bwd_tol)) << "dS0 " << what;
  }
}

TEST(CudaKda, MatchesCpuAcrossHeadDimsAndLengths) {
  LINEA_REQUIRE_GPU();
  // K = 32 .. 256 (1, 2, 4 and 8 channels per lane), K = 60 (lanes partly idle), K != V.
  const std::vector<std::pair<int64_t, int64_t>> dims = {{32, 32}, {60, 64}, {64, 60}, {128, 32}, {256, 16}};
  for (auto [K, V] : dims)
    for (int64_t T : {1, 63, 64, 65, 150}) {
      Case c{2, 2, 1, T, K, V};
      c.state = T != 63;
      expect_parity(c, DType::f32, 100);
    }
}

TEST(CudaKda, GroupedValueHeadsPackedSequencesAndVariants) {
  LINEA_REQUIRE_GPU();
  Case gva{2, 2, 2, 70, 64, 64};
  expect_parity(gva, DType::f32, 200);
  Case packed{1, 2, 1, 200, 64, 32};
  packed.cu_seqlens = {0, 1, 65, 65, 190};  // a one-token and an empty sequence; rows 190..199 are padding
  expect_parity(packed, DType::f32, 201);
  Case no_delta{1, 2, 1, 100, 64, 64};
  no_delta.delta_rule = false;
  expect_parity(no_delta, DType::f32, 202);
  Case strong{1, 2, 1, 100, 64, 64};
  strong.strong_gate = true;  // g ≈ -20 per step: the state forgets within a token
  expect_parity(strong, DType::f32, 203);
}

TEST(CudaKda, HalfPrecisionInputsMatchCpu) {
  LINEA_REQUIRE_GPU();
  for (DType dt : {DType::bf16, DType::f16}) expect_parity(Case{1, 2, 1, 80, 64, 64}, dt, 300);
}

TEST(CudaKda, RefusesKeyDimsBeyond256AndPositiveGates) {
  LINEA_REQUIRE_GPU();
  const Tensor q = Tensor::zeros({1, 1, 4, 320}, DType::f32, kGpu), v = Tensor::zeros({1, 1, 4, 8}, DType::f32, kGpu);
  const Tensor beta = Tensor::zeros({1, 1, 4}, DType::f32, kGpu);
  expect_error([&] { kernels::kda_fwd(q, q, v, q, beta, {}, Tensor(), nullptr); }, "key head dims up to 256");
  const Tensor q8 = Tensor::zeros({1, 1, 4, 8}, DType::f32, kGpu);
  const Tensor g = Tensor::full({1, 1, 4, 8}, 0.5, DType::f32, kGpu);
  expect_error([&] { kernels::kda_fwd(q8, q8, v, g, beta, {}, Tensor(), nullptr); }, "its largest element is 0.5");
}

}  // namespace
