// CPU-vs-CUDA parity of fused attention: forward, lse and backward (skipped without a GPU).
// Tolerances: f32 — both devices compute in f32 from the same inputs but in different
// orders (CPU: Eigen GEMMs, two-pass softmax, vectorized exp; CUDA: per-lane FMA chains,
// online softmax with rescaling, expf, atomicAdd order for dq). Scores of D <= 128 terms
// carry ~1e-6 relative error and outputs are convex combinations of |v| <= 1, so 1e-5
// absolute for out/lse; gradients sum up to T terms of that size: 1e-4 absolute, 1e-3
// relative. bf16 — identical bf16 inputs and f32 math, each output rounded once to bf16,
// so the two may land on neighbouring bf16 values: one ulp, 2^-7 relative, plus the f32
// noise above on values near zero (atol 1e-3).
#include <gtest/gtest.h>

#include "core/kernels/attention.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

namespace {
const Device kGpu = Device::cuda(0);
const Device kCpu = Device::cpu();

struct Case {
  int64_t B, H, Hkv, T, D;
};

TEST(CudaAttention, ForwardLseAndBackwardMatchCpu) {
  LINEA_REQUIRE_GPU();
  // Odd T below one tile, T spanning partial query (16 / 32) and key (32) tiles, GQA and MHA.
  for (Case c : {Case{2, 4, 2, 7, 32}, Case{1, 4, 4, 77, 64}, Case{2, 8, 2, 200, 128}, Case{1, 2, 1, 513, 64}}) {
    for (DType dt : {DType::f32, DType::bf16}) {
      const bool f32 = dt == DType::f32;
      const double fwd_atol = f32 ? 1e-5 : 1e-3, bwd_atol = f32 ? 1e-4 : 1e-3;
      const double fwd_rtol = f32 ? 1e-4 : 1.0 / 128, bwd_rtol = f32 ? 1e-3 : 1.0 / 64;
      Tensor q = random_tensor({c.B, c.H, c.T, c.D}, 1).to(dt), dout = random_tensor({c.B, c.H, c.T, c.D}, 4).to(dt);
      Tensor k = random_tensor({c.B, c.Hkv, c.T, c.D}, 2).to(dt), v = random_tensor({c.B, c.Hkv, c.T, c.D}, 3).to(dt);
      for (bool causal : {true, false}) {
        const std::string what = str_cat("B", c.B, " H", c.H, "/", c.Hkv, " T", c.T, " D", c.D, " ",
                                          dtype_name(dt), causal ? " causal" : " full");
        Tensor lse, lse_g;
        Tensor out = kernels::attention_fwd(q, k, v, causal, 0, &lse);
        Tensor out_g = kernels::attention_fwd(q.to(kGpu), k.to(kGpu), v.to(kGpu), causal, 0, &lse_g);
        EXPECT_EQ(lse_g.dtype(), DType::f32);
        EXPECT_TRUE(all_close(out_g.to(kCpu), out, fwd_atol, fwd_rtol)) << "out " << what;
        EXPECT_TRUE(all_close(lse_g.to(kCpu), lse, 1e-5, 1e-5)) << "lse " << what;
        // Same out and lse on both devices, so the comparison isolates the backward kernels.
        kernels::AttentionGrads g = kernels::attention_bwd(q, k, v, out, lse, dout, causal, 0);
        kernels::AttentionGrads gg = kernels::attention_bwd(q.to(kGpu), k.to(kGpu), v.to(kGpu), out.to(kGpu),
                                                            lse.to(kGpu), dout.to(kGpu), causal, 0);
        EXPECT_TRUE(all_close(gg.dq.to(kCpu), g.dq, bwd_atol, bwd_rtol)) << "dq " << what;
        EXPECT_TRUE(all_close(gg.dk.to(kCpu), g.dk, bwd_atol, bwd_rtol)) << "dk " << what;
        EXPECT_TRUE(all_close(gg.dv.to(kCpu), g.dv, bwd_atol, bwd_rtol)) << "dv " << what;
      }
    }
  }
}

TEST(CudaAttention, ExplicitScaleAndStridedInput) {
  LINEA_REQUIRE_GPU();
  Tensor q = random_tensor({2, 33, 4, 64}, 5).to(DType::f32).transpose(1, 2);  // [B,H,T,D] view of [B,T,H,D]
  Tensor k = random_tensor({2, 2, 33, 64}, 6).to(DType::f32), v = random_tensor({2, 2, 33, 64}, 7).to(DType::f32);
  Tensor out = kernels::attention_fwd(q, k, v, true, 0.3, nullptr);
  Tensor out_g = kernels::attention_fwd(q.to(kGpu), k.to(kGpu), v.to(kGpu), true, 0.3, nullptr);
  EXPECT_TRUE(all_close(out_g.to(kCpu), out, 1e-5, 1e-4));
}

TEST(CudaAttention, UnsupportedHeadDimAndF64Errors) {
  LINEA_REQUIRE_GPU();
  Tensor x = Tensor::zeros({1, 1, 4, 48}, DType::f32, kGpu);
  try {
    kernels::attention_fwd(x, x, x, true, 0, nullptr);
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("head dim D in {32, 64, 128}, got D = 48"), std::string::npos) << e.what();
  }
  Tensor y = Tensor::zeros({1, 1, 4, 32}, DType::f64, kGpu);
  try {
    kernels::attention_fwd(y, y, y, true, 0, nullptr);
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("f64 attention runs on the CPU only"), std::string::npos) << e.what();
  }
}

}  // namespace
