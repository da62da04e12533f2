// CPU-vs-CUDA parity for copies, conversions, elementwise, reductions and the Philox
// stream. Skipped where no GPU is present. Tolerances: f32 kernels evaluate the same formula
// in the same precision, but CUDA's libm differs from glibc by up to 2 ulp (exp, tanh, erf),
// so 1e-5 relative (f64: 1e-12); bf16 and f16 outputs may round to a neighbouring value
// (2^-7 and 2^-9 relative, with margin).
#include <gtest/gtest.h>

#include "core/allocator.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/reduce.h"
#include "core/rng.h"
#include "support/device_views.h"

using namespace linea;
using namespace linea::testing;

namespace {
const Device kGpu = Device::cuda(0);
const Device kCpu = Device::cpu();
double tol_for(DType t) {
  return t == DType::f64 ? 1e-12 : t == DType::f32 ? 1e-5 : t == DType::f16 ? 1.0 / 512 : 1.0 / 128;
}
bool positive_domain(UnaryOp u) {
  return u == UnaryOp::log || u == UnaryOp::sqrt || u == UnaryOp::rsqrt || u == UnaryOp::pow;
}
// Floating values where C++ float-to-integer casts are undefined (see core/half.h).
const std::vector<double> kSpecial = {NAN, INFINITY, -INFINITY, 3e9, -3e9, 1e19, -1e19, 2.7, -2.7, 300, -1, 0.5};
}  // namespace

TEST(CudaParity, CopyConvertsAndHandlesStrides) {
  LINEA_REQUIRE_GPU();
  Tensor x = random_strided({5, 7, 3}, 1).to(DType::f32);
  for (DType t : {DType::f32, DType::bf16, DType::f16, DType::i32}) {
    Tensor cpu = x.to(t);
    Tensor gpu = x.to(kGpu).to(t).to(Device::cpu());
    EXPECT_EQ(cpu.to_vector(), gpu.to_vector()) << dtype_name(t);  // conversions round identically
  }
  Tensor g = x.to(kGpu);
  EXPECT_EQ(g.transpose(0, 2).contiguous().to(Device::cpu()).to_vector(), x.transpose(0, 2).contiguous().to_vector());
}

TEST(CudaParity, UnaryForwardAndBackward) {
  LINEA_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::bf16}) {
    for (int op = 0; op <= int(UnaryOp::affine); ++op) {
      UnaryOp u = UnaryOp(op);
      Tensor x = random_strided({33, 65}, 2, positive_domain(u) ? 0.5 : -3, 3).to(dt);
      Tensor dy = random_tensor({33, 65}, 3).to(dt);
      Tensor y = kernels::unary_fwd(u, x, 1.5, 0.5);
      Tensor dx = kernels::unary_bwd(u, x, y, dy, 1.5, 0.5);
      Tensor yg = kernels::unary_fwd(u, x.to(kGpu), 1.5, 0.5);
      Tensor dxg = kernels::unary_bwd(u, x.to(kGpu), yg, dy.to(kGpu), 1.5, 0.5);
      EXPECT_TRUE(all_close(yg.to(Device::cpu()), y, tol_for(dt), tol_for(dt))) << unary_op_name(u);
      EXPECT_TRUE(all_close(dxg.to(Device::cpu()), dx, tol_for(dt), tol_for(dt))) << unary_op_name(u);
    }
  }
}

TEST(CudaParity, BinaryWithBroadcastForwardAndBackward) {
  LINEA_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::bf16}) {
    for (BinaryOp op : {BinaryOp::add, BinaryOp::sub, BinaryOp::mul, BinaryOp::div}) {
      Tensor a = random_strided({4, 33, 17}, 4).to(dt);
      Tensor b = random_tensor({33, 1}, 5, 0.5, 2).to(dt);
      Tensor dy = random_tensor({4, 33, 17}, 6).to(dt);
      Tensor y = kernels::binary_fwd(op, a, b);
      Tensor ga, gb, gag, gbg;
      kernels::binary_bwd(op, a, b, dy, &ga, &gb);
      Tensor yg = kernels::binary_fwd(op, a.to(kGpu), b.to(kGpu));
      kernels::binary_bwd(op, a.to(kGpu), b.to(kGpu), dy.to(kGpu), &gag, &gbg);
      EXPECT_TRUE(all_close(yg.to(Device::cpu()), y, tol_for(dt), tol_for(dt))) << binary_op_name(op);
      EXPECT_TRUE(all_close(gag.to(Device::cpu()), ga, tol_for(dt), tol_for(dt))) << binary_op_name(op);
      // gb sums 68 terms in f32 in a different order on each device.
      EXPECT_TRUE(all_close(gbg.to(Device::cpu()), gb, 68 * tol_for(dt), tol_for(dt))) << binary_op_name(op);
    }
  }
}

TEST(CudaParity, ReductionsAndTheirBackward) {
  LINEA_REQUIRE_GPU();
  Tensor x = random_strided({6, 129, 40}, 7).to(DType::f32);
  for (ReduceOp op : {ReduceOp::sum, ReduceOp::mean, ReduceOp::max}) {
    for (std::vector<int64_t> dims : {std::vector<int64_t>{}, {0}, {2}, {0, 2}}) {
      Tensor arg, argg;
      Tensor y = kernels::reduce(op, x, dims, false, op == ReduceOp::max ? &arg : nullptr);
      Tensor yg = kernels::reduce(op, x.to(kGpu), dims, false, op == ReduceOp::max ? &argg : nullptr);
      // Sums of up to 31k f32 terms in different orders: relative error ~ sqrt(n) * eps.
      EXPECT_TRUE(all_close(yg.to(Device::cpu()), y, 1e-4, 1e-5)) << reduce_op_name(op);
      if (op == ReduceOp::max) {
        EXPECT_EQ(argg.to(Device::cpu()).to_vector(), arg.to_vector());
      }
      Tensor dx = kernels::reduce_bwd(op, x.shape(), y, dims, false, arg);
      Tensor dxg = kernels::reduce_bwd(op, x.shape(), yg, dims, false, argg);
      EXPECT_TRUE(all_close(dxg.to(Device::cpu()), dx, 1e-4, 1e-5)) << reduce_op_name(op);
    }
  }
  // Leading-dims reduction of a contiguous tensor takes the column kernel.
  Tensor m = random_tensor({512, 300}, 8).to(DType::f32);
  EXPECT_TRUE(all_close(kernels::sum_to(m.to(kGpu), {300}).to(Device::cpu()), kernels::sum_to(m, {300}), 1e-4, 1e-5));
}

TEST(CudaParity, PhiloxStreamsAreIdentical) {
  LINEA_REQUIRE_GPU();
  Generator a(123, 17), b(123, 17);
  Tensor cu = rand_uniform({100003}, a);
  Tensor gu = rand_uniform({100003}, b, DType::f32, kGpu);
  EXPECT_EQ(gu.to(Device::cpu()).to_vector(), cu.to_vector());  // integer ops and an exact scale: bitwise
  Tensor cn = rand_normal({4099}, a);
  Tensor gn = rand_normal({4099}, b, DType::f32, kGpu);
  // Box-Muller uses logf/cosf/sqrtf, which may differ by an ulp or two between libraries.
  EXPECT_TRUE(all_close(gn.to(Device::cpu()), cn, 1e-5, 1e-5));
  Tensor cb = Tensor::empty({5000}), gb = Tensor::empty({5000}, DType::f32, kGpu);
  bernoulli_(cb, a, 0.25);
  bernoulli_(gb, b, 0.25);
  EXPECT_EQ(gb.to(Device::cpu()).to_vector(), cb.to_vector());
  EXPECT_EQ(a.offset(), b.offset());
}

TEST(CudaParity, CachingAllocatorReusesBlocks) {
  LINEA_REQUIRE_GPU();
  auto step = [] { return Tensor::zeros({1024, 1024}, DType::f32, kGpu).clone().numel(); };
  step();
  size_t before = memory_stats(kGpu).system_allocs;
  for (int i = 0; i < 5; ++i) step();
  EXPECT_EQ(memory_stats(kGpu).system_allocs, before);
  EXPECT_GT(memory_stats(kGpu).peak_bytes, 0u);
}

TEST(CudaParity, ElementwiseOnDeviceViewsF16F64) {
  LINEA_REQUIRE_GPU();
  // Views made on the GPU, so the kernels (or the device copy that densifies them) see
  // strided and misaligned memory; .to(kGpu) of a CPU view would hand them a dense copy.
  for (DType dt : {DType::f16, DType::f64, DType::f32}) {
    const double tol = tol_for(dt);
    for (bool strided : {true, false}) {
      const char* layout = strided ? "strided" : "misaligned";
      auto on_gpu = [&](const Shape& shape, uint64_t seed, double lo, double hi) {
        return strided ? strided_on(kGpu, shape, seed, dt, lo, hi) : misaligned_on(kGpu, shape, seed, dt, lo, hi);
      };
      for (int op = 0; op <= int(UnaryOp::affine); ++op) {
        const UnaryOp u = UnaryOp(op);
        const Tensor xg = on_gpu({33, 65}, 2, positive_domain(u) ? 0.5 : -3, 3), dyg = on_gpu({33, 65}, 3, -1, 1);
        const Tensor x = xg.to(kCpu), dy = dyg.to(kCpu);
        const Tensor y = kernels::unary_fwd(u, x, 1.5, 0.5), yg = kernels::unary_fwd(u, xg, 1.5, 0.5);
        EXPECT_TRUE(all_close(yg.to(kCpu), y, tol, tol)) << unary_op_name(u) << " " << dtype_name(dt) << " " << layout;
        EXPECT_TRUE(all_close(kernels::unary_bwd(u, xg, yg, dyg, 1.5, 0.5).to(kCpu),
                              kernels::unary_bwd(u, x, y, dy, 1.5, 0.5), tol, tol))
            << unary_op_name(u) << " backward " << dtype_name(dt) << " " << layout;
      }
      const Tensor ag = on_gpu({4, 33, 17}, 4, -1, 1), bg = on_gpu({33, 17}, 5, 0.5, 2);
      const Tensor a = ag.to(kCpu), b = bg.to(kCpu), dy = random_tensor({4, 33, 17}, 6).to(dt);
      for (BinaryOp op : {BinaryOp::add, BinaryOp::sub, BinaryOp::mul, BinaryOp::div}) {
        EXPECT_TRUE(all_close(kernels::binary_fwd(op, ag, bg).to(kCpu), kernels::binary_fwd(op, a, b), tol, tol))
            << binary_op_name(op) << " " << dtype_name(dt) << " " << layout;
        Tensor ga, gb, gag, gbg;
        kernels::binary_bwd(op, a, b, dy, &ga, &gb);
        kernels::binary_bwd(op, ag, bg, dy.to(kGpu), &gag, &gbg);
        EXPECT_TRUE(all_close(gag.to(kCpu), ga, tol, tol)) << binary_op_name(op) << " da " << dtype_name(dt);
        EXPECT_TRUE(all_close(gbg.to(kCpu), gb, 4 * tol, tol)) << binary_op_name(op) << " db " << dtype_name(dt);
      }
      // Dtype conversion straight from the device view.
      for (DType to : {DType::f32, DType::bf16, DType::f16, DType::f64, DType::i32})
        EXPECT_EQ(ag.to(to).to(kCpu).to_vector(), a.to(to).to_vector()) << dtype_name(dt) << " -> " << dtype_name(to);
    }
  }
}

TEST(CudaParity, FloatToIntegerConversionMatchesCpu) {
  LINEA_REQUIRE_GPU();
  // NaN -> 0, out-of-range values saturate, the rest truncate toward zero, on both devices.
  for (DType from : {DType::f32, DType::f64, DType::f16, DType::bf16}) {
    const Tensor x = Tensor::from_vector(kSpecial, {int64_t(kSpecial.size())}, from);
    for (DType to : {DType::i32, DType::i64, DType::u8})
      EXPECT_EQ(x.to(kGpu).to(to).to(kCpu).to_vector(), x.to(to).to_vector())
          << dtype_name(from) << " -> " << dtype_name(to);
  }
}

TEST(CudaParity, ReductionsWithTiesNaNInfF16F64) {
  LINEA_REQUIRE_GPU();
  // Values on a grid of eighths, so rows hold many equal maxima; NaNs and -infs sprinkled so
  // that many reduced rows hold several NaNs, in different threads of a block.
  std::vector<double> v = random_tensor({6, 129, 40}, 9).to_vector();
  for (size_t i = 0; i < v.size(); ++i) v[i] = i % 97 == 3 ? NAN : i % 89 == 5 ? -INFINITY : std::floor(v[i] * 4) / 4;
  for (DType dt : {DType::f32, DType::bf16, DType::f16, DType::f64}) {
    const Tensor x = Tensor::from_vector(v, {6, 129, 40}, dt);
    for (bool strided : {false, true}) {
      // The strided case transposes on the device, so the kernels walk a strided plan.
      const Tensor xc = strided ? x.transpose(1, 2) : x, xg = strided ? x.to(kGpu).transpose(1, 2) : x.to(kGpu);
      for (std::vector<int64_t> dims : {std::vector<int64_t>{}, {0}, {1}, {2}, {0, 2}}) {
        const std::string what = str_cat(dtype_name(dt), strided ? " strided" : "", " dims ", dims.size());
        Tensor arg, argg;
        const Tensor y = kernels::reduce(ReduceOp::max, xc, dims, false, &arg);
        const Tensor yg = kernels::reduce(ReduceOp::max, xg, dims, false, &argg);
        EXPECT_TRUE(all_close(yg.to(kCpu), y, 0, 0)) << "max " << what;
        EXPECT_EQ(argg.to(kCpu).to_vector(), arg.to_vector()) << "argmax " << what;
        const Tensor dy = random_tensor(y.shape(), 10).to(dt);
        EXPECT_EQ(kernels::reduce_bwd(ReduceOp::max, xc.shape(), dy.to(kGpu), dims, false, argg).to(kCpu).to_vector(),
                  kernels::reduce_bwd(ReduceOp::max, xc.shape(), dy, dims, false, arg).to_vector())
            << "max backward " << what;
        for (ReduceOp op : {ReduceOp::sum, ReduceOp::mean})  // NaN and -inf propagate alike
          EXPECT_TRUE(all_close(kernels::reduce(op, xg, dims, false).to(kCpu), kernels::reduce(op, xc, dims, false),
                                1e-4, tol_for(dt)))
              << reduce_op_name(op) << " " << what;
      }
    }
  }
}

TEST(CudaParity, ReductionsOverEmptyDims) {
  LINEA_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::f16, DType::f64}) {
    const Tensor e = Tensor::zeros({3, 0, 4}, dt), eg = e.to(kGpu);
    for (ReduceOp op : {ReduceOp::sum, ReduceOp::mean}) {
      // Sums over nothing are 0 and means 0/0 = NaN, on both devices; an empty output stays empty.
      for (std::vector<int64_t> dims : {std::vector<int64_t>{}, {1}, {0, 1}, {2}}) {
        const Tensor y = kernels::reduce(op, e, dims, false), yg = kernels::reduce(op, eg, dims, false);
        EXPECT_EQ(yg.shape(), y.shape()) << reduce_op_name(op) << " " << dtype_name(dt);
        EXPECT_TRUE(all_close(yg.to(kCpu), y, 0, 0)) << reduce_op_name(op) << " " << dtype_name(dt);
      }
    }
    EXPECT_EQ(kernels::reduce(ReduceOp::max, eg, {2}, false).shape(), (Shape{3, 0}));
    expect_error([&] { kernels::reduce(ReduceOp::max, eg, {1}, false); }, "cannot take the max over an empty dim");
  }
}
