// CPU-vs-CUDA parity of the fused AdamW update for f32 and bf16 params (f32 states and
// master), over 3 steps with weight decay. Skipped where no GPU is present.
#include <gtest/gtest.h>

#include "core/kernels/adamw.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

TEST(CudaParity, AdamWUpdate) {
  LINEA_REQUIRE_GPU();
  const Device gpu = Device::cuda(0);
  for (DType dt : {DType::f32, DType::bf16}) {
    const int64_t n = 100003;  // not a multiple of the block size
    const bool half = dt == DType::bf16;
    Tensor p = random_tensor({n}, 1).to(dt);
    Tensor m = Tensor::zeros({n}), v = Tensor::zeros({n});
    Tensor master = half ? p.to(DType::f32) : Tensor();
    Tensor pg = p.to(gpu), mg = m.to(gpu), vg = v.to(gpu), masterg = half ? master.to(gpu) : Tensor();
    for (int64_t t = 1; t <= 3; ++t) {
      Tensor g = random_tensor({n}, 10 + t, -2, 2).to(dt);
      AdamWStep s{1e-2, 0.9, 0.95, 1e-8, 0.1, t};
      kernels::adamw_update(p, g, m, v, master, s);
      kernels::adamw_update(pg, g.to(gpu), mg, vg, masterg, s);
    }
    // Same formula in f32 on both sides; only the order of sqrt/division rounding may differ.
    EXPECT_TRUE(all_close(mg.to(Device::cpu()), m, 1e-6, 1e-6)) << dtype_name(dt);
    EXPECT_TRUE(all_close(vg.to(Device::cpu()), v, 1e-6, 1e-6)) << dtype_name(dt);
    if (half) {
      EXPECT_TRUE(all_close(masterg.to(Device::cpu()), master, 1e-6, 1e-5));
    }
    EXPECT_TRUE(all_close(pg.to(Device::cpu()), p, 1e-6, half ? 1.0 / 128 : 1e-5)) << dtype_name(dt);
  }
}
