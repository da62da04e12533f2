// CPU-vs-CUDA parity of the hybrid window + linear attention (LoLCATs' hedgehog_window):
// output, final state and every gradient (q, k, v, both feature maps, γ, λ, the initial
// state's), both layouts, windows 0 (pure linear), 1, 16 and 64, lengths shorter than,
// equal to and beyond the window and across the terrace blocks, packed sequences with
// padding, head/value/feature dims up to 128 that differ from each other (skipped without a
// GPU). The CPU runs in f64 on the same values.
// Tolerances: the CUDA kernel sums in f32 (windows of up to 2w = 128 keys, the linear sweep
// over up to T = 130 rows: ~1e-5 relative), and takes the linear part as the inclusive sweep
// minus the window's own linear terms, which costs the ratio of all keys' linear mass to
// the linear part's (below 3 here) in relative error; the key gradients gather by
// atomicAdd in any order. 1e-4 of each tensor's scale covers both with a 3x margin.
// bf16/f16: inputs rounded first, so both sides see the same values; each GPU result is
// rounded once (2^-8 of the scale) on top.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/kernels/hedgehog_window.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;
using kernels::WindowLayout;

namespace {
const Device kGpu = Device::cuda(0);
const Device kCpu = Device::cpu();

struct Case {
  int64_t B, H, T, D, Dv, F, window;
  WindowLayout layout;
  bool state = true;
  std::vector<int64_t> cu_seqlens = {};
  int64_t N() const { return cu_seqlens.empty() ? B : int64_t(cu_seqlens.size()) - 1; }
};

std::string describe(const Case& c, DType dt) {
  return str_cat("B", c.B, " H", c.H, " T", c.T, " D", c.D, " Dv", c.Dv, " F", c.F, " window ", c.window,
                 c.layout == WindowLayout::terrace ? " terrace " : " sliding ", dtype_name(dt), c.state ? " state" : "",
                 c.cu_seqlens.empty() ? "" : str_cat(" ", c.N(), " packed"));
}

void expect_parity(const Case& c, DType dt, uint64_t seed) {
  const std::string what = describe(c, dt);
  const double tol = 1e-4 + (dt == DType::f32 ? 0.0 : 1.0 / 256);
  auto in = [&](const Shape& s, uint64_t k, double lo, double hi) {
    return random_tensor(s, seed + k, lo, hi).to(dt).to(DType::f64);
  };
  const Tensor q = in({c.B, c.H, c.T, c.D}, 0, -1, 1), k = in({c.B, c.H, c.T, c.D}, 1, -1, 1);
  const Tensor v = in({c.B, c.H, c.T, c.Dv}, 2, -1, 1);
  // Feature maps are non-negative (softmax features).
  const Tensor fq = in({c.B, c.H, c.T, c.F}, 3, 0, 1), fk = in({c.B, c.H, c.T, c.F}, 4, 0, 1);
  const Tensor gamma = in({c.H}, 5, 0.2, 0.8), lambda = in({c.H}, 6, 0.2, 0.8);
  const Tensor dout = in({c.B, c.H, c.T, c.Dv}, 7, -1, 1);
  kernels::LinearState s0, dfinal{in({c.N(), c.H, c.F, c.Dv}, 10, -1, 1), in({c.N(), c.H, c.F}, 11, -1, 1)};
  if (c.state) s0 = {in({c.N(), c.H, c.F, c.Dv}, 8, 0, 1), in({c.N(), c.H, c.F}, 9, 0, 1)};
  kernels::HedgehogWindowOptions opt;
  opt.layout = c.layout;
  opt.window = c.window;
  if (!c.cu_seqlens.empty()) opt.segments = kernels::AttentionSegments::packed(c.cu_seqlens);
  auto gpu = [&](const Tensor& t) { return t.defined() ? t.to(kGpu, dt) : Tensor(); };
  auto gpu_state = [&](const kernels::LinearState& s) { return kernels::LinearState{gpu(s.S), gpu(s.z)}; };
  auto expect_close = [&](const Tensor& got, const Tensor& want, const char* name) {
    EXPECT_TRUE(close_to_scale(got.to(kCpu, DType::f64), want, tol)) << name << " " << what;
  };

  const kernels::HedgehogWindowOutput r = kernels::hedgehog_window_fwd(q, k, v, fq, fk, gamma, lambda, opt, s0, true);
  const kernels::HedgehogWindowOutput rg = kernels::hedgehog_window_fwd(
      gpu(q), gpu(k), gpu(v), gpu(fq), gpu(fk), gpu(gamma), gpu(lambda), opt, gpu_state(s0), true);
  EXPECT_EQ(rg.out.dtype(), dt) << what;
  expect_close(rg.out, r.out, "out");
  expect_close(rg.final_state.S, r.final_state.S, "final S");
  expect_close(rg.final_state.z, r.final_state.z, "final z");

  const kernels::HedgehogWindowGrads g =
      kernels::hedgehog_window_bwd(q, k, v, fq, fk, gamma, lambda, dout, opt, s0, dfinal);
  const kernels::HedgehogWindowGrads gg =
      kernels::hedgehog_window_bwd(gpu(q), gpu(k), gpu(v), gpu(fq), gpu(fk), gpu(gamma), gpu(lambda), gpu(dout), opt,
                                   gpu_state(s0), gpu_state(dfinal));
  expect_close(gg.dq, g.dq, "dq");
  expect_close(gg.dk, g.dk, "dk");
  expect_close(gg.dv, g.dv, "dv");
  expect_close(gg.dfq, g.dfq, "dfq");
  expect_close(gg.dfk, g.dfk, "dfk");
  expect_close(gg.dgamma, g.dgamma, "dgamma");
  expect_close(gg.dlambda, g.dlambda, "dlambda");
  ASSERT_EQ(gg.dinitial_state.defined(), c.state) << what;
  if (c.state) {
    expect_close(gg.dinitial_state.S, g.dinitial_state.S, "dS0");
    expect_close(gg.dinitial_state.z, g.dinitial_state.z, "dz0");
  }
}

TEST(CudaHedgehogWindow, MatchesCpuForBothLayoutsAndWindows) {
  LINEA_REQUIRE_GPU();
  for (WindowLayout layout : {WindowLayout::sliding, WindowLayout::terrace})
    for (int64_t window : {0, 1, 16, 64})
      for (int64_t T : {1, 16, 50, 130}) {
        Case c{2, 2, T, 64, 64, 32, window, layout};
        c.state = T != 50;
        expect_parity(c, DType::f32, 7);
      }
}

TEST(CudaHedgehogWindow, OtherDimsPackedSequencesAndHalfPrecision) {
  LINEA_REQUIRE_GPU();
  expect_parity(Case{1, 2, 90, 128, 96, 128, 16, WindowLayout::terrace}, DType::f32, 8);
  Case packed{1, 2, 120, 32, 48, 64, 16, WindowLayout::sliding};
  packed.cu_seqlens = {0, 1, 40, 40, 110};  // a one-token and an empty sequence; rows 110..119 are padding
  expect_parity(packed, DType::f32, 9);
  packed.layout = WindowLayout::terrace;
  expect_parity(packed, DType::f32, 10);
  for (DType dt : {DType::bf16, DType::f16})
    expect_parity(Case{1, 2, 70, 64, 64, 32, 16, WindowLayout::sliding}, dt, 11);
}

}  // namespace
