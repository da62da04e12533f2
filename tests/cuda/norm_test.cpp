// CPU-vs-CUDA parity of layer_norm / rms_norm forward, dx, dweight and dbias (skipped
// without a GPU). Tolerances: f32 — the same two-pass formulas in f32 with different
// summation orders: 1e-5 relative, 1e-5 absolute for y and dx (O(1) values, where the
// dx formula cancels); dweight/dbias sum N rows in the same part layout on both devices,
// the terms differing only through mean/rstd, so 1e-4 absolute. bf16 — one rounding of
// an f32 result may land on the neighbouring bf16 value: 2^-7 relative and absolute.
#include <gtest/gtest.h>

#include "core/kernels/norm.h"
#include "support/device_views.h"

using namespace linea;
using namespace linea::testing;

namespace {
const Device kGpu = Device::cuda(0);
const Device kCpu = Device::cpu();

Tensor gpu(const Tensor& t) { return t.defined() ? t.to(kGpu) : t; }

TEST(CudaNorm, LayerNormAndRmsNormMatchCpu) {
  LINEA_REQUIRE_GPU();
  // 150 rows > kNormGradParts (uneven parts); C below a warp, odd, and several per thread.
  for (Shape shape : {Shape{5, 7}, Shape{3, 50, 129}, Shape{9, 4000}}) {
    const int64_t C = shape.back();
    for (DType dt : {DType::f32, DType::bf16}) {
      const double tol = dt == DType::f32 ? 1e-5 : 1.0 / 128, ptol = dt == DType::f32 ? 1e-4 : 1.0 / 128;
      Tensor x = random_tensor(shape, 1, -2, 3).to(dt);
      Tensor dy = random_tensor(shape, 2).to(dt);
      Tensor w = random_tensor({C}, 3, 0.5, 1.5).to(dt), b = random_tensor({C}, 4).to(dt);
      for (bool centered : {true, false}) {
        for (bool affine : {true, false}) {
          const Tensor wt = affine ? w : Tensor(), bt = affine && centered ? b : Tensor();
          const std::string what = str_cat(centered ? "layer_norm " : "rms_norm ", affine ? "affine " : "",
                                           shape_str(shape), " ", dtype_name(dt));
          Tensor mean, rstd, meang, rstdg;
          Tensor y = centered ? kernels::layer_norm(x, wt, bt, 1e-5, &mean, &rstd)
                              : kernels::rms_norm(x, wt, 1e-5, &rstd);
          Tensor yg = centered ? kernels::layer_norm(gpu(x), gpu(wt), gpu(bt), 1e-5, &meang, &rstdg)
                               : kernels::rms_norm(gpu(x), gpu(wt), 1e-5, &rstdg);
          EXPECT_TRUE(all_close(yg.to(kCpu), y, tol, tol)) << what;
          EXPECT_TRUE(all_close(rstdg.to(kCpu), rstd, 1e-5, 1e-5)) << what;
          if (centered) {
            EXPECT_TRUE(all_close(meang.to(kCpu), mean, 1e-5, 1e-5)) << what;
          }
          // Backward from the CPU statistics on both devices isolates the backward kernels.
          kernels::NormGrads g = centered ? kernels::layer_norm_bwd(dy, x, wt, mean, rstd, affine, affine)
                                          : kernels::rms_norm_bwd(dy, x, wt, rstd, affine);
          kernels::NormGrads gg = centered ? kernels::layer_norm_bwd(gpu(dy), gpu(x), gpu(wt), gpu(mean),
                                                                     gpu(rstd), affine, affine)
                                           : kernels::rms_norm_bwd(gpu(dy), gpu(x), gpu(wt), gpu(rstd), affine);
          EXPECT_TRUE(all_close(gg.dx.to(kCpu), g.dx, tol, tol)) << what << " dx";
          EXPECT_EQ(gg.dweight.defined(), affine) << what;
          if (affine) {
            EXPECT_TRUE(all_close(gg.dweight.to(kCpu), g.dweight, ptol, tol)) << what << " dweight";
          }
          EXPECT_EQ(gg.dbias.defined(), affine && centered) << what;
          if (gg.dbias.defined()) {
            EXPECT_TRUE(all_close(gg.dbias.to(kCpu), g.dbias, ptol, tol)) << what << " dbias";
          }
        }
      }
    }
  }
}

TEST(CudaNorm, StridedInputMatchesCpu) {
  LINEA_REQUIRE_GPU();
  Tensor x = random_strided({2, 7, 300}, 5).to(DType::f32);
  Tensor w = random_tensor({300}, 6).to(DType::f32);
  EXPECT_TRUE(all_close(kernels::layer_norm(x.to(kGpu), w.to(kGpu), Tensor(), 1e-5).to(kCpu),
                        kernels::layer_norm(x, w, Tensor(), 1e-5), 1e-5, 1e-5));
  EXPECT_TRUE(all_close(kernels::rms_norm(x.to(kGpu), w.to(kGpu), 1e-6).to(kCpu), kernels::rms_norm(x, w, 1e-6), 1e-5,
                        1e-5));
}

TEST(CudaNorm, DeviceViewsF16F64) {
  LINEA_REQUIRE_GPU();
  // x made on the GPU (transposed, or dense one element off alignment), weights misaligned
  // too. f16 rounds y, dx and the parameter gradients once from f32 (2^-9 with margin); f64
  // differs by summation order only.
  const Shape shape{3, 50, 129};
  for (DType dt : {DType::f16, DType::f64}) {
    const double tol = dt == DType::f16 ? 1.0 / 512 : 1e-12;
    for (bool strided : {true, false}) {
      const Tensor xg = strided ? strided_on(kGpu, shape, 7, dt, -2, 3) : misaligned_on(kGpu, shape, 7, dt, -2, 3);
      const Tensor wg = misaligned_on(kGpu, {129}, 8, dt, 0.5, 1.5), bg = misaligned_on(kGpu, {129}, 9, dt);
      const Tensor dy = random_tensor(shape, 10).to(dt);
      const Tensor x = xg.to(kCpu), w = wg.to(kCpu), b = bg.to(kCpu);
      const std::string what = str_cat(dtype_name(dt), strided ? " strided" : " misaligned");
      Tensor mean, rstd, meang, rstdg;
      const Tensor y = kernels::layer_norm(x, w, b, 1e-5, &mean, &rstd);
      EXPECT_TRUE(all_close(kernels::layer_norm(xg, wg, bg, 1e-5, &meang, &rstdg).to(kCpu), y, tol, tol))
          << "layer_norm " << what;
      EXPECT_TRUE(all_close(rstdg.to(kCpu), rstd, tol, tol)) << "layer_norm rstd " << what;
      const kernels::NormGrads g = kernels::layer_norm_bwd(dy, x, w, mean, rstd, true, true);
      const kernels::NormGrads gg =
          kernels::layer_norm_bwd(dy.to(kGpu), xg, wg, mean.to(kGpu), rstd.to(kGpu), true, true);
      EXPECT_TRUE(all_close(gg.dx.to(kCpu), g.dx, tol, tol)) << "layer_norm dx " << what;
      EXPECT_TRUE(all_close(gg.dweight.to(kCpu), g.dweight, 10 * tol, tol)) << "layer_norm dweight " << what;
      EXPECT_TRUE(all_close(gg.dbias.to(kCpu), g.dbias, 10 * tol, tol)) << "layer_norm dbias " << what;
      Tensor rms_rstd;
      const Tensor r = kernels::rms_norm(x, w, 1e-6, &rms_rstd);
      EXPECT_TRUE(all_close(kernels::rms_norm(xg, wg, 1e-6).to(kCpu), r, tol, tol)) << "rms_norm " << what;
      const kernels::NormGrads rg = kernels::rms_norm_bwd(dy, x, w, rms_rstd, true);
      const kernels::NormGrads rgg = kernels::rms_norm_bwd(dy.to(kGpu), xg, wg, rms_rstd.to(kGpu), true);
      EXPECT_TRUE(all_close(rgg.dx.to(kCpu), rg.dx, tol, tol)) << "rms_norm dx " << what;
      EXPECT_TRUE(all_close(rgg.dweight.to(kCpu), rg.dweight, 10 * tol, tol)) << "rms_norm dweight " << what;
    }
  }
}

}  // namespace
