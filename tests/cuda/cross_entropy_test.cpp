// CPU-vs-CUDA parity of the fused cross-entropy forward and backward, ignore_index and
// the documented CUDA behaviour for invalid targets (skipped without a GPU).
// Tolerances: f32 — per-row logsumexp in f32 in different orders and exp implementations
// (~2 ulp each), sums of up to 50k terms (~sqrt(n) * eps): 2e-5 relative on the loss and
// dlogits, 1e-8 absolute for the tiny probabilities; bf16 — the loss and dlogits are rounded once to bf16: 2^-7 relative.
#include <gtest/gtest.h>

#include <cmath>

#include "core/kernels/cross_entropy.h"
#include "core/rng.h"
#include "support/device_views.h"

using namespace linea;
using namespace linea::testing;

namespace {
const Device kGpu = Device::cuda(0);
const Device kCpu = Device::cpu();

// Random class ids in [0, V), every `ignore_every`-th row set to -100 (0: none).
Tensor random_targets(int64_t N, int64_t V, uint64_t seed, int64_t ignore_every, DType dt) {
  Tensor u = random_tensor({N}, seed, 0, double(V));
  std::vector<double> v = u.to_vector();
  for (int64_t i = 0; i < N; ++i) v[i] = ignore_every && i % ignore_every == 0 ? -100 : std::floor(v[i]);
  return Tensor::from_vector(v, {N}, dt);
}

TEST(CudaCrossEntropy, LossAndGradientMatchCpu) {
  LINEA_REQUIRE_GPU();
  struct Case {
    int64_t N, V, ignore_every;
    DType index;
  };
  for (Case c : {Case{7, 5, 0, DType::i64}, Case{33, 1000, 4, DType::i32}, Case{6, 50257, 3, DType::i64}}) {
    for (DType dt : {DType::f32, DType::bf16}) {
      const double rtol = dt == DType::f32 ? 2e-5 : 1.0 / 128, atol = dt == DType::f32 ? 1e-8 : 1e-6;
      const std::string what = str_cat("N ", c.N, " V ", c.V, " ", dtype_name(dt));
      Tensor x = random_tensor({c.N, c.V}, 1, -6, 6).to(dt);
      Tensor t = random_targets(c.N, c.V, 2, c.ignore_every, c.index);
      Tensor lse, count, lseg, countg;
      Tensor loss = kernels::cross_entropy(x, t, -100, &lse, &count);
      Tensor lossg = kernels::cross_entropy(x.to(kGpu), t.to(kGpu), -100, &lseg, &countg);
      EXPECT_TRUE(all_close(lossg.to(kCpu), loss, 0, rtol)) << what;
      EXPECT_EQ(countg.item(), count.item()) << what;
      EXPECT_TRUE(all_close(lseg.to(kCpu), lse, 1e-5, 1e-6)) << what;
      Tensor dloss = Tensor::scalar(1.7, dt);
      Tensor dx = kernels::cross_entropy_bwd(dloss, x, t, lse, count);
      Tensor dxg = kernels::cross_entropy_bwd(dloss.to(kGpu), x.to(kGpu), t.to(kGpu), lse.to(kGpu), count.to(kGpu));
      EXPECT_TRUE(all_close(dxg.to(kCpu), dx, atol, rtol)) << what << " dlogits";
    }
  }
}

TEST(CudaCrossEntropy, StridedLogitsAndAllIgnored) {
  LINEA_REQUIRE_GPU();
  Tensor x = random_strided({9, 70}, 3).to(DType::f32);
  Tensor t = random_targets(9, 70, 4, 2, DType::i64);
  EXPECT_NEAR(kernels::cross_entropy(x.to(kGpu), t.to(kGpu)).item(), kernels::cross_entropy(x, t).item(), 1e-5);
  // All rows ignored: loss 0 and zero gradient, as on the CPU.
  Tensor none = Tensor::full({9}, -100, DType::i64, kGpu);
  Tensor lse, count;
  EXPECT_EQ(kernels::cross_entropy(x.to(kGpu), none, -100, &lse, &count).item(), 0.0);
  Tensor dx = kernels::cross_entropy_bwd(Tensor::scalar(1.0, DType::f32, kGpu), x.to(kGpu), none, lse, count);
  for (double g : dx.to(kCpu).to_vector()) EXPECT_EQ(g, 0.0);
}

TEST(CudaCrossEntropy, InvalidTargetPoisonsLossAndRowWithNaN) {
  LINEA_REQUIRE_GPU();
  // Documented: the CUDA kernel cannot throw without a sync, so row 1's lse and loss are NaN.
  Tensor x = random_tensor({3, 4}, 5).to(kGpu, DType::f32);
  Tensor t = Tensor::from_vector({0, 4, 2}, {3}, DType::i64, kGpu);
  Tensor lse, count;
  EXPECT_TRUE(std::isnan(kernels::cross_entropy(x, t, -100, &lse, &count).item()));
  Tensor dx = kernels::cross_entropy_bwd(Tensor::scalar(1.0, DType::f32, kGpu), x, t, lse, count).to(kCpu);
  EXPECT_TRUE(std::isnan(dx.at({1, 0})));
  EXPECT_FALSE(std::isnan(dx.at({0, 0})));
}

TEST(CudaCrossEntropy, DeviceViewsF16F64) {
  LINEA_REQUIRE_GPU();
  // Logits made on the GPU (transposed, or dense one element off alignment). f16 rounds the
  // loss and dlogits once from f32 (2^-9 with margin); f64 differs by exp and sum order.
  const int64_t N = 33, V = 1000;
  for (DType dt : {DType::f16, DType::f64}) {
    const double rtol = dt == DType::f16 ? 1.0 / 512 : 1e-12, atol = dt == DType::f16 ? 1e-6 : 1e-15;
    for (bool strided : {true, false}) {
      const Tensor xg = strided ? strided_on(kGpu, {N, V}, 6, dt, -6, 6) : misaligned_on(kGpu, {N, V}, 6, dt, -6, 6);
      const Tensor x = xg.to(kCpu), t = random_targets(N, V, 7, 4, DType::i64);
      const std::string what = str_cat(dtype_name(dt), strided ? " strided" : " misaligned");
      Tensor lse, count, lseg, countg;
      const Tensor loss = kernels::cross_entropy(x, t, -100, &lse, &count);
      EXPECT_TRUE(all_close(kernels::cross_entropy(xg, t.to(kGpu), -100, &lseg, &countg).to(kCpu), loss, 0, rtol))
          << what;
      EXPECT_TRUE(all_close(lseg.to(kCpu), lse, 1e-5, 1e-6)) << what;
      const Tensor dloss = Tensor::scalar(1.7, dt);
      EXPECT_TRUE(all_close(kernels::cross_entropy_bwd(dloss.to(kGpu), xg, t.to(kGpu), lseg, countg).to(kCpu),
                            kernels::cross_entropy_bwd(dloss, x, t, lse, count), atol, rtol))
          << what << " dlogits";
    }
  }
}

}  // namespace
