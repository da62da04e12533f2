// CPU-vs-CUDA parity of the RoPE rotation and its backward (skipped without a GPU).
// Tolerances: f32 — the same two products and one add per element on both devices; only
// FMA contraction may differ, one rounding: 1e-6 relative, 1e-7 absolute. bf16 — f32 math
// rounded once to bf16 on both sides: one bf16 ulp, 2^-7 relative.
#include <gtest/gtest.h>

#include "core/kernels/rope.h"
#include "support/device_views.h"

using namespace linea;
using namespace linea::testing;

namespace {
const Device kGpu = Device::cuda(0);
const Device kCpu = Device::cpu();

TEST(CudaRope, ForwardAndBackwardMatchCpu) {
  LINEA_REQUIRE_GPU();
  kernels::RopeScaling scaling;
  for (Shape shape : {Shape{2, 3, 7, 8}, Shape{1, 4, 300, 128}}) {
    const int64_t T = shape[2], D = shape[3];
    kernels::RopeTables cpu_tb = kernels::rope_tables(T + 5, D, 500000, &scaling, kCpu);
    kernels::RopeTables gpu_tb = kernels::rope_tables(T + 5, D, 500000, &scaling, kGpu);
    EXPECT_TRUE(all_close(gpu_tb.cos.to(kCpu), cpu_tb.cos, 0, 0));
    for (DType dt : {DType::f32, DType::bf16}) {
      const double rtol = dt == DType::f32 ? 1e-6 : 1.0 / 128, atol = dt == DType::f32 ? 1e-7 : 1e-6;
      Tensor x = random_tensor(shape, 1).to(dt);
      Tensor y = kernels::rope_fwd(x, cpu_tb.cos, cpu_tb.sin);
      EXPECT_TRUE(all_close(kernels::rope_fwd(x.to(kGpu), gpu_tb.cos, gpu_tb.sin).to(kCpu), y, atol, rtol))
          << shape_str(shape) << " " << dtype_name(dt);
      Tensor dx = kernels::rope_bwd(x, cpu_tb.cos, cpu_tb.sin);
      EXPECT_TRUE(all_close(kernels::rope_bwd(x.to(kGpu), gpu_tb.cos, gpu_tb.sin).to(kCpu), dx, atol, rtol))
          << "backward " << shape_str(shape) << " " << dtype_name(dt);
    }
  }
}

TEST(CudaRope, DeviceViewsF16F64) {
  LINEA_REQUIRE_GPU();
  // x made on the GPU (T and D transposed in storage, or dense one element off alignment).
  // f16 rounds once from f32 (2^-9 with margin); f64 rotates in f64 from the f32 tables.
  const Shape shape{2, 4, 300, 64};
  kernels::RopeScaling scaling;
  const kernels::RopeTables cpu_tb = kernels::rope_tables(300, 64, 10000, &scaling, kCpu);
  const kernels::RopeTables gpu_tb = kernels::rope_tables(300, 64, 10000, &scaling, kGpu);
  for (DType dt : {DType::f16, DType::f64}) {
    const double tol = dt == DType::f16 ? 1.0 / 512 : 1e-12;
    for (bool strided : {true, false}) {
      const Tensor xg = strided ? strided_on(kGpu, shape, 3, dt) : misaligned_on(kGpu, shape, 3, dt);
      const Tensor x = xg.to(kCpu);
      const std::string what = str_cat(dtype_name(dt), strided ? " strided" : " misaligned");
      EXPECT_TRUE(all_close(kernels::rope_fwd(xg, gpu_tb.cos, gpu_tb.sin).to(kCpu),
                            kernels::rope_fwd(x, cpu_tb.cos, cpu_tb.sin), tol, tol))
          << what;
      EXPECT_TRUE(all_close(kernels::rope_bwd(xg, gpu_tb.cos, gpu_tb.sin).to(kCpu),
                            kernels::rope_bwd(x, cpu_tb.cos, cpu_tb.sin), tol, tol))
          << "backward " << what;
    }
  }
}

}  // namespace
