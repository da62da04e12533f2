// CPU-vs-CUDA parity of fused attention: forward, lse and backward, with ALiBi and
// variable-length segments (skipped without a GPU).
// Tolerances: f32 — both devices compute in f32 from the same inputs but in different
// orders (CPU: Eigen GEMMs, two-pass softmax, vectorized exp; CUDA: per-lane FMA chains,
// online softmax with rescaling, expf, atomicAdd order for dq). Scores of D <= 128 terms
// carry ~1e-6 relative error and outputs are convex combinations of |v| <= 1, so 1e-5
// absolute for out/lse; gradients sum up to T terms of that size: 1e-4 absolute, 1e-3
// relative. bf16 — identical bf16 inputs and f32 math, each output rounded once to bf16,
// so the two may land on neighbouring bf16 values: one ulp, 2^-7 relative, plus the f32
// noise above on values near zero (atol 1e-3). f16 rounds more finely and is held to the
// same bounds.
// ALiBi adds -slope |i - j| in f32 on both devices (the CPU subtracts the rounded product,
// the GPU may fuse it into an FMA), so the two biased scores differ by about one f32 ulp of
// their value. The diagonal key has bias 0, so keys that carry weight have biased scores
// of a few units (weights off by ~1e-6 relative, as for plain scores), while keys with a
// large bias (up to ~0.7 * 76 here) weigh e^-10 or less of the row's largest and add
// nothing measurable. The same tolerances therefore hold. Segments change which keys each
// row sums over, not the arithmetic; rows outside every segment are exactly 0 on both devices.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/kernels/attention.h"
#include "support/device_views.h"

using namespace linea;
using namespace linea::testing;

namespace {
const Device kGpu = Device::cuda(0);
const Device kCpu = Device::cpu();

struct Case {
  int64_t B, H, Hkv, T, D;
};

kernels::AttentionOptions options(bool causal, double scale = 0) {
  kernels::AttentionOptions o;
  o.causal = causal;
  o.scale = scale;
  return o;
}

// The ALiBi slopes of Press et al. for H heads as an f32 [H] CPU tensor.
Tensor alibi_tensor(int64_t H) {
  const std::vector<float> s = kernels::alibi_slopes(H);
  return Tensor::from_vector(std::vector<double>(s.begin(), s.end()), {H}, DType::f32);
}

// Random q, dout [B,H,T,D] and k, v [B,Hkv,T,D] in [-1, 1), stored as dt.
struct Inputs {
  Tensor q, k, v, dout;
};
Inputs random_inputs(const Case& c, DType dt, uint64_t seed) {
  const Shape qs{c.B, c.H, c.T, c.D}, ks{c.B, c.Hkv, c.T, c.D};
  return Inputs{random_tensor(qs, seed).to(dt), random_tensor(ks, seed + 1).to(dt), random_tensor(ks, seed + 2).to(dt),
                random_tensor(qs, seed + 3).to(dt)};
}

std::string describe(const Case& c, DType dt, const kernels::AttentionOptions& opt) {
  return str_cat("B", c.B, " H", c.H, "/", c.Hkv, " T", c.T, " D", c.D, " ", dtype_name(dt),
                 opt.causal ? " causal" : " full", opt.window > 0 ? str_cat(" window ", opt.window) : "",
                 opt.alibi_slopes.defined() ? " alibi" : "",
                 opt.segments.empty() ? "" : str_cat(" ", opt.segments.start.size(), " segments"));
}

// Forward (out, lse) and backward (dq, dk, dv) on both devices with the tolerances of the
// file comment. opt holds CPU tensors; the GPU call gets the slopes moved to the GPU. The
// GPU runs on `gpu`'s q, k, v (views made on the device keep their layout), the CPU on
// the same values in `in`.
void expect_parity(const Case& c, const Inputs& in, const Inputs& gpu, const kernels::AttentionOptions& opt) {
  const DType dt = in.q.dtype();
  const bool f32 = dt == DType::f32;
  const double fwd_atol = f32 ? 1e-5 : 1e-3, bwd_atol = f32 ? 1e-4 : 1e-3;
  const double fwd_rtol = f32 ? 1e-4 : 1.0 / 128, bwd_rtol = f32 ? 1e-3 : 1.0 / 64;
  const std::string what = describe(c, dt, opt);
  kernels::AttentionOptions opt_g = opt;
  if (opt.alibi_slopes.defined()) opt_g.alibi_slopes = opt.alibi_slopes.to(kGpu);
  const Tensor &q = gpu.q, &k = gpu.k, &v = gpu.v;
  Tensor lse, lse_g;
  Tensor out = kernels::attention_fwd(in.q, in.k, in.v, opt, &lse);
  Tensor out_g = kernels::attention_fwd(q, k, v, opt_g, &lse_g);
  EXPECT_EQ(lse_g.dtype(), DType::f32) << what;
  EXPECT_TRUE(all_close(out_g.to(kCpu), out, fwd_atol, fwd_rtol)) << "out " << what;
  EXPECT_TRUE(all_close(lse_g.to(kCpu), lse, 1e-5, 1e-5)) << "lse " << what;
  // Same out and lse on both devices, so the comparison isolates the backward kernels.
  kernels::AttentionGrads g = kernels::attention_bwd(in.q, in.k, in.v, out, lse, in.dout, opt);
  kernels::AttentionGrads gg =
      kernels::attention_bwd(q, k, v, out.to(kGpu), lse.to(kGpu), gpu.dout, opt_g);
  EXPECT_TRUE(all_close(gg.dq.to(kCpu), g.dq, bwd_atol, bwd_rtol)) << "dq " << what;
  EXPECT_TRUE(all_close(gg.dk.to(kCpu), g.dk, bwd_atol, bwd_rtol)) << "dk " << what;
  EXPECT_TRUE(all_close(gg.dv.to(kCpu), g.dv, bwd_atol, bwd_rtol)) << "dv " << what;
}

// The same with the GPU given dense copies of `in`.
void expect_parity(const Case& c, const Inputs& in, const kernels::AttentionOptions& opt) {
  expect_parity(c, in, Inputs{in.q.to(kGpu), in.k.to(kGpu), in.v.to(kGpu), in.dout.to(kGpu)}, opt);
}

TEST(CudaAttention, ForwardLseAndBackwardMatchCpu) {
  LINEA_REQUIRE_GPU();
  // Odd T below one tile, T spanning partial query (16 / 32) and key (32) tiles, GQA and MHA.
  for (Case c : {Case{2, 4, 2, 7, 32}, Case{1, 4, 4, 77, 64}, Case{2, 8, 2, 200, 128}, Case{1, 2, 1, 513, 64}}) {
    for (DType dt : {DType::f32, DType::bf16}) {
      const Inputs in = random_inputs(c, dt, 1);
      for (bool causal : {true, false}) expect_parity(c, in, options(causal));
    }
  }
}

TEST(CudaAttention, SlidingWindowMatchesCpu) {
  LINEA_REQUIRE_GPU();
  // Windows of one key, inside a 16-row query tile, across 32-key tiles, and longer than T;
  // T spanning partial tiles and a long sequence whose early key tiles the forward skips
  // and whose late query tiles the backward skips; packed segments with ALiBi too.
  for (Case c : {Case{2, 4, 2, 77, 64}, Case{1, 2, 1, 513, 128}}) {
    for (DType dt : {DType::f32, DType::bf16}) {
      const Inputs in = random_inputs(c, dt, 31);
      for (int64_t window : {1, 16, 40, 100, 600}) {
        kernels::AttentionOptions opt = options(true);
        opt.window = window;
        expect_parity(c, in, opt);
        opt.segments = kernels::AttentionSegments::packed({0, 5, 22, 23, c.T});
        opt.alibi_slopes = alibi_tensor(c.H);
        if (c.B == 1) expect_parity(c, in, opt);
      }
    }
  }
}

TEST(CudaAttention, AlibiMatchesCpu) {
  LINEA_REQUIRE_GPU();
  // MosaicBERT's 12 heads (non-power-of-two slopes), T spanning partial tiles; the causal
  // case checks that the bias is |i - j| of in-sequence positions there too.
  const Case c{2, 12, 12, 77, 64};
  for (DType dt : {DType::f32, DType::bf16}) {
    const Inputs in = random_inputs(c, dt, 11);
    for (bool causal : {false, true}) {
      kernels::AttentionOptions opt = options(causal);
      opt.alibi_slopes = alibi_tensor(c.H);
      expect_parity(c, in, opt);
    }
  }
}

TEST(CudaAttention, PackedSegmentsMatchCpu) {
  LINEA_REQUIRE_GPU();
  // Unpadded batch (MosaicBERT): B = 1, sequences of 5, 17, 1 and 40 tokens back to back,
  // so segments start off tile boundaries, one is a single token and the longest spans
  // partial query and key tiles; with and without ALiBi.
  const Case c{1, 4, 4, 63, 32};
  for (DType dt : {DType::f32, DType::bf16}) {
    const Inputs in = random_inputs(c, dt, 21);
    for (bool alibi : {false, true}) {
      for (bool causal : {false, true}) {
        kernels::AttentionOptions opt = options(causal);
        opt.segments = kernels::AttentionSegments::packed({0, 5, 22, 23, 63});
        if (alibi) opt.alibi_slopes = alibi_tensor(c.H);
        expect_parity(c, in, opt);
      }
    }
  }
}

TEST(CudaAttention, PaddedLengthsMatchCpu) {
  LINEA_REQUIRE_GPU();
  // [B, T] batch whose rows hold 48 (full), 20 and 1 real tokens: pad rows must come out
  // as exact zeros (out, lse, dq) and pad keys get zero dk/dv, as on the CPU.
  const Case c{3, 4, 4, 48, 64};
  for (DType dt : {DType::f32, DType::bf16}) {
    const Inputs in = random_inputs(c, dt, 31);
    for (bool alibi : {false, true}) {
      for (bool causal : {false, true}) {
        kernels::AttentionOptions opt = options(causal);
        opt.segments = kernels::AttentionSegments::padded({48, 20, 1}, c.T);
        if (alibi) opt.alibi_slopes = alibi_tensor(c.H);
        expect_parity(c, in, opt);
      }
    }
  }
}

TEST(CudaAttention, GqaSegmentsWithGapsMatchCpu) {
  LINEA_REQUIRE_GPU();
  // GQA (4 query heads per kv head) at D = 128 with a general layout: batch entry 0 holds
  // two sequences [0, 37) and [37, 100); entry 1 holds one at [3, 73) with pad rows before
  // and after it, so a segment starts at t0 = 3 of batch entry 1.
  const Case c{2, 8, 2, 100, 128};
  kernels::AttentionSegments segments;
  segments.start = {0, 37, 103};
  segments.length = {37, 63, 70};
  for (DType dt : {DType::f32, DType::bf16}) {
    const Inputs in = random_inputs(c, dt, 41);
    for (bool alibi : {false, true}) {
      for (bool causal : {false, true}) {
        kernels::AttentionOptions opt = options(causal);
        opt.segments = segments;
        if (alibi) opt.alibi_slopes = alibi_tensor(c.H);
        expect_parity(c, in, opt);
      }
    }
  }
}

TEST(CudaAttention, F16IncludingTheD128BackwardThatSpills) {
  LINEA_REQUIRE_GPU();
  // f16 takes the half path of every head dim; D = 128's backward keeps the most per-thread
  // state (the build reports its register spills), with GQA and partial tiles.
  for (Case c : {Case{2, 4, 2, 7, 32}, Case{1, 4, 4, 77, 64}, Case{2, 8, 2, 200, 128}}) {
    const Inputs in = random_inputs(c, DType::f16, 51);
    for (bool causal : {true, false}) expect_parity(c, in, options(causal));
  }
  const Case c{1, 12, 12, 77, 128};
  kernels::AttentionOptions opt = options(false);
  opt.alibi_slopes = alibi_tensor(c.H);
  opt.segments = kernels::AttentionSegments::packed({0, 30, 77});
  expect_parity(c, random_inputs(c, DType::f16, 52), opt);
}

TEST(CudaAttention, LongSequencesAndEightQueryHeadsPerKvHead) {
  LINEA_REQUIRE_GPU();
  // T up to 4k (many key tiles per query tile, long online-softmax rescaling chains) and
  // kv groups of 8 query heads, causal and not, D = 64 and 128.
  for (Case c : {Case{1, 8, 1, 4096, 64}, Case{1, 16, 2, 2048, 128}}) {
    for (DType dt : {DType::f32, DType::bf16}) {
      const Inputs in = random_inputs(c, dt, 61);
      for (bool causal : {true, false}) expect_parity(c, in, options(causal));
    }
  }
}

TEST(CudaAttention, ZeroLengthSegments) {
  LINEA_REQUIRE_GPU();
  // Empty sequences first, in the middle (twice in a row) and last of a packed batch, and a
  // batch entry of the general layout holding nothing: they cover no rows and must not
  // disturb their neighbours.
  const Case packed{1, 4, 2, 40, 64};
  for (DType dt : {DType::f32, DType::f16}) {
    kernels::AttentionOptions opt = options(true);
    opt.segments = kernels::AttentionSegments::packed({0, 0, 5, 5, 5, 22, 40, 40});
    expect_parity(packed, random_inputs(packed, dt, 71), opt);
  }
  const Case general{2, 4, 4, 33, 32};
  kernels::AttentionSegments segments;
  segments.start = {0, 0, 33, 33};
  segments.length = {0, 20, 0, 0};
  for (bool causal : {true, false}) {
    kernels::AttentionOptions opt = options(causal);
    opt.segments = segments;
    expect_parity(general, random_inputs(general, DType::f32, 72), opt);
  }
}

TEST(CudaAttention, DeviceStridedAndMisalignedInputs) {
  LINEA_REQUIRE_GPU();
  // Inputs made on the GPU: q, k as [B,T,H,D] storage seen as [B,H,T,D] (the device copy
  // densifies them), and dense views one element off alignment, which the kernels read as
  // they are. The CPU gets the same values.
  const Case c{2, 4, 2, 65, 64};
  auto on_cpu = [](const Inputs& g) { return Inputs{g.q.to(kCpu), g.k.to(kCpu), g.v.to(kCpu), g.dout.to(kCpu)}; };
  for (DType dt : {DType::f32, DType::bf16, DType::f16}) {
    const Tensor v = misaligned_on(kGpu, {c.B, c.Hkv, c.T, c.D}, 83, dt);
    const Tensor dout = misaligned_on(kGpu, {c.B, c.H, c.T, c.D}, 84, dt);
    const Inputs strided{random_tensor({c.B, c.T, c.H, c.D}, 81).to(kGpu, dt).transpose(1, 2),
                         random_tensor({c.B, c.T, c.Hkv, c.D}, 82).to(kGpu, dt).transpose(1, 2), v, dout};
    for (bool causal : {true, false}) expect_parity(c, on_cpu(strided), strided, options(causal));
    const Inputs unaligned{misaligned_on(kGpu, {c.B, c.H, c.T, c.D}, 85, dt),
                           misaligned_on(kGpu, {c.B, c.Hkv, c.T, c.D}, 86, dt), v, dout};
    expect_parity(c, on_cpu(unaligned), unaligned, options(true));
  }
}

TEST(CudaAttention, ExplicitScaleAndStridedInput) {
  LINEA_REQUIRE_GPU();
  Tensor q = random_tensor({2, 33, 4, 64}, 5).to(DType::f32).transpose(1, 2);  // [B,H,T,D] view of [B,T,H,D]
  Tensor k = random_tensor({2, 2, 33, 64}, 6).to(DType::f32), v = random_tensor({2, 2, 33, 64}, 7).to(DType::f32);
  Tensor out = kernels::attention_fwd(q, k, v, options(true, 0.3), nullptr);
  Tensor out_g = kernels::attention_fwd(q.to(kGpu), k.to(kGpu), v.to(kGpu), options(true, 0.3), nullptr);
  EXPECT_TRUE(all_close(out_g.to(kCpu), out, 1e-5, 1e-4));
}

// MLA's head dims: q/k of nope + rope dims, v of its own (the tiny recipes' (96, 64) and Kimi
// Linear's (192, 128)), causal and full, with GQA and packed segments.
TEST(CudaAttention, ValueHeadDimOtherThanQueryHeadDimMatchesCpu) {
  LINEA_REQUIRE_GPU();
  for (auto [D, Dv] : {std::pair<int64_t, int64_t>{96, 64}, {192, 128}}) {
    const Case c{2, 4, 2, 77, D};
    for (DType dt : {DType::f32, DType::bf16}) {
      Inputs in = random_inputs(c, dt, 61);
      in.v = random_tensor({c.B, c.Hkv, c.T, Dv}, 65).to(dt);
      in.dout = random_tensor({c.B, c.H, c.T, Dv}, 66).to(dt);
      for (bool causal : {true, false}) expect_parity(c, in, options(causal));
      kernels::AttentionOptions packed = options(true);
      packed.segments = kernels::AttentionSegments::padded({77, 30}, 77);
      expect_parity(c, in, packed);
    }
  }
}

TEST(CudaAttention, UnsupportedHeadDimAndF64Errors) {
  LINEA_REQUIRE_GPU();
  Tensor x = Tensor::zeros({1, 1, 4, 48}, DType::f32, kGpu);
  try {
    kernels::attention_fwd(x, x, x, options(true), nullptr);
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("(128, 128), (96, 64) and (192, 128), got (48, 48)"), std::string::npos) << e.what();
  }
  Tensor y = Tensor::zeros({1, 1, 4, 32}, DType::f64, kGpu);
  try {
    kernels::attention_fwd(y, y, y, options(true), nullptr);
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("f64 runs on the CPU only"), std::string::npos) << e.what();
  }
}

}  // namespace
