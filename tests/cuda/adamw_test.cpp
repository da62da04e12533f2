// CPU-vs-CUDA parity of the fused AdamW update for f32, bf16 and f16 params (f32 states
// and master) and f64 params (f64 states), over 3 steps with weight decay; the GPU's
// parameter starts one element off alignment. Skipped where no GPU is present.
#include <gtest/gtest.h>

#include "core/kernels/adamw.h"
#include "support/device_views.h"

using namespace linea;
using namespace linea::testing;

TEST(CudaParity, AdamWUpdate) {
  LINEA_REQUIRE_GPU();
  const Device gpu = Device::cuda(0);
  for (DType dt : {DType::f32, DType::bf16, DType::f16, DType::f64}) {
    const int64_t n = 100003;  // not a multiple of the block size
    const bool half = dt == DType::bf16 || dt == DType::f16;
    const DType state = dt == DType::f64 ? DType::f64 : DType::f32;
    Tensor pg = misaligned_on(gpu, {n}, 1, dt);
    Tensor p = pg.to(Device::cpu());
    Tensor m = Tensor::zeros({n}, state), v = Tensor::zeros({n}, state);
    Tensor master = half ? p.to(DType::f32) : Tensor();
    Tensor mg = m.to(gpu), vg = v.to(gpu), masterg = half ? master.to(gpu) : Tensor();
    for (int64_t t = 1; t <= 3; ++t) {
      Tensor g = random_tensor({n}, 10 + t, -2, 2).to(dt);
      AdamWStep s{1e-2, 0.9, 0.95, 1e-8, 0.1, t};
      kernels::adamw_update(p, g, m, v, master, s);
      kernels::adamw_update(pg, g.to(gpu), mg, vg, masterg, s);
    }
    // Same formula in f32 (f64) on both sides; only the order of sqrt/division rounding may
    // differ. Half params round the master once: one ulp, 2^-7 (bf16) or 2^-9 (f16, with margin).
    const double tol = dt == DType::f64 ? 1e-12 : 1e-6;
    const double ptol = dt == DType::bf16 ? 1.0 / 128 : dt == DType::f16 ? 1.0 / 512 : 10 * tol;
    EXPECT_TRUE(all_close(mg.to(Device::cpu()), m, tol, tol)) << dtype_name(dt);
    EXPECT_TRUE(all_close(vg.to(Device::cpu()), v, tol, tol)) << dtype_name(dt);
    if (half) {
      EXPECT_TRUE(all_close(masterg.to(Device::cpu()), master, 1e-6, 1e-5));
    }
    EXPECT_TRUE(all_close(pg.to(Device::cpu()), p, tol, ptol)) << dtype_name(dt);
  }
}
