// CPU-vs-CUDA parity for copies, fills, elementwise, reductions and the Philox stream.
// Skipped where no GPU is present. Tolerances: f32 kernels evaluate the same formula in
// the same precision, but CUDA's libm differs from glibc by up to 2 ulp (exp, tanh, erf),
// so 1e-5 relative; bf16 outputs may round to a neighbouring value (2^-8 relative).
#include <gtest/gtest.h>

#include "core/allocator.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/reduce.h"
#include "core/rng.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

namespace {
const Device kGpu = Device::cuda(0);
double tol_for(DType t) { return t == DType::f32 ? 1e-5 : 1.0 / 128; }
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
      bool positive = u == UnaryOp::log || u == UnaryOp::sqrt || u == UnaryOp::rsqrt || u == UnaryOp::pow;
      Tensor x = random_strided({33, 65}, 2, positive ? 0.5 : -3, 3).to(dt);
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
