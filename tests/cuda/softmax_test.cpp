// CPU-vs-CUDA parity of softmax / log_softmax forward and backward (skipped without a GPU).
// Tolerances: f32 — both devices accumulate in f32 but sum in different orders and use
// different exp implementations (CPU: vectorized Cephes, CUDA: expf, each within ~2 ulp);
// a row sum of up to 40k terms carries ~sqrt(n) * eps of order-dependent error, so 2e-5
// relative; the backward's (dy - sum) can cancel, hence a 1e-6 absolute floor.
// bf16 — identical bf16 inputs, f32 math, but a rounding may land on the neighbouring
// bf16 value: one ulp, 2^-7 relative.
#include <gtest/gtest.h>

#include "core/kernels/softmax.h"
#include "support/device_views.h"

using namespace linea;
using namespace linea::testing;

namespace {
const Device kGpu = Device::cuda(0);
const Device kCpu = Device::cpu();

TEST(CudaSoftmax, ForwardAndBackwardMatchCpu) {
  LINEA_REQUIRE_GPU();
  // Row lengths below one warp, not a multiple of the block, and many elements per thread.
  for (Shape shape : {Shape{5, 7}, Shape{3, 4, 129}, Shape{17, 3001}, Shape{2, 40000}}) {
    for (DType dt : {DType::f32, DType::bf16}) {
      const double rtol = dt == DType::f32 ? 2e-5 : 1.0 / 128, atol = dt == DType::f32 ? 1e-6 : 1e-5;
      Tensor x = random_tensor(shape, 1, -8, 8).to(dt);
      Tensor dy = random_tensor(shape, 2).to(dt);
      for (bool log : {false, true}) {
        Tensor y = kernels::softmax(x, log);
        Tensor yg = kernels::softmax(x.to(kGpu), log);
        EXPECT_TRUE(all_close(yg.to(kCpu), y, log ? 10 * atol : atol, rtol))
            << (log ? "log_softmax " : "softmax ") << shape_str(shape) << " " << dtype_name(dt);
        // Same y on both devices, so the backward comparison isolates the backward kernel.
        Tensor dx = kernels::softmax_bwd(y, dy, log);
        Tensor dxg = kernels::softmax_bwd(y.to(kGpu), dy.to(kGpu), log);
        EXPECT_TRUE(all_close(dxg.to(kCpu), dx, atol, rtol))
            << (log ? "log_softmax bwd " : "softmax bwd ") << shape_str(shape) << " " << dtype_name(dt);
      }
    }
  }
}

TEST(CudaSoftmax, StridedInputLargeLogitsAndMasking) {
  LINEA_REQUIRE_GPU();
  Tensor x = random_strided({6, 33}, 3, 900, 1100).to(DType::f32);  // transposed view, logits ~1e3
  Tensor y = kernels::softmax(x);
  EXPECT_TRUE(all_close(kernels::softmax(x.to(kGpu)).to(kCpu), y, 1e-6, 1e-5));
  for (double v : kernels::softmax(x.to(kGpu)).to(kCpu).to_vector()) EXPECT_TRUE(std::isfinite(v));
  Tensor masked = Tensor::from_vector({0.5, -INFINITY, 1.5}, {1, 3}, DType::f32, kGpu);
  EXPECT_EQ(kernels::softmax(masked).at({0, 1}), 0.0);
}

TEST(CudaSoftmax, DeviceViewsF16F64) {
  LINEA_REQUIRE_GPU();
  // Inputs made on the GPU: transposed (the device copy densifies them) and dense but one
  // element off alignment (the kernel reads them as they are). f16 rounds its outputs once
  // (2^-11 relative, 2^-9 with margin); f64 differs only by exp's last bits and sum order.
  for (DType dt : {DType::f16, DType::f64}) {
    const double rtol = dt == DType::f16 ? 1.0 / 512 : 1e-12, atol = dt == DType::f16 ? 1e-5 : 1e-15;
    for (Shape shape : {Shape{6, 33}, Shape{17, 3001}}) {
      for (bool strided : {true, false}) {
        const Tensor xg = strided ? strided_on(kGpu, shape, 4, dt, -8, 8) : misaligned_on(kGpu, shape, 4, dt, -8, 8);
        const Tensor dyg = misaligned_on(kGpu, shape, 5, dt);
        const Tensor x = xg.to(kCpu), dy = dyg.to(kCpu);
        for (bool log : {false, true}) {
          const std::string what = str_cat(log ? "log_softmax " : "softmax ", shape_str(shape), " ", dtype_name(dt),
                                           strided ? " strided" : " misaligned");
          const Tensor y = kernels::softmax(x, log), yg = kernels::softmax(xg, log);
          EXPECT_TRUE(all_close(yg.to(kCpu), y, log ? 10 * atol : atol, rtol)) << what;
          EXPECT_TRUE(all_close(kernels::softmax_bwd(yg, dyg, log).to(kCpu), kernels::softmax_bwd(yg.to(kCpu), dy, log),
                                atol, rtol))
              << what << " backward";
        }
      }
    }
  }
}

}  // namespace
