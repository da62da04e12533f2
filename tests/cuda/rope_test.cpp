// CPU-vs-CUDA parity of the RoPE rotation and its backward (skipped without a GPU).
// Tolerances: f32 — the same two products and one add per element on both devices; only
// FMA contraction may differ, one rounding: 1e-6 relative, 1e-7 absolute. bf16 — f32 math
// rounded once to bf16 on both sides: one bf16 ulp, 2^-7 relative.
#include <gtest/gtest.h>

#include "core/kernels/rope.h"
#include "support/testing.h"

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

}  // namespace
