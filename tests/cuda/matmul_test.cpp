// CPU-vs-CUDA parity for matmul (cuBLASLt) forward and backward in f32, bf16, f16 and f64.
// Skipped where no GPU is present. Both backends are compared against an f64 product of
// the same (already rounded) inputs. Tolerances: any fp32 summation order of K products
// is within K u32 sum_k |a_ik b_kj| of the exact sum (u32 = 2^-24), so that is the f32
// bound per element; bf16 outputs add one rounding, 2^-8 |c| (f16: 2^-11 |c|); f64 uses
// K u64 (2^-53). Strided and misaligned operands are views made on the GPU, so cuBLASLt
// really receives odd leading dims and pointers off 16-byte alignment.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functional.h"
#include "core/kernels/matmul.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

namespace {

const Device kGpu = Device::cuda(0);

Shape matrix_shape(Shape batch, int64_t rows, int64_t cols, bool trans) {
  batch.push_back(trans ? cols : rows);
  batch.push_back(trans ? rows : cols);
  return batch;
}

Tensor abs_f64(const Tensor& t) {
  std::vector<double> v = t.to_vector();
  for (double& x : v) x = std::abs(x);
  return Tensor::from_vector(v, t.shape(), DType::f64);
}

// |got - ref| <= rel |ref| + acc * abs_sum elementwise, with ref and abs_sum in f64.
::testing::AssertionResult within_bound(const Tensor& got, const Tensor& ref, const Tensor& abs_sum, double rel,
                                        double acc) {
  if (got.shape() != ref.shape()) return ::testing::AssertionFailure() << got.desc() << " vs " << ref.desc();
  std::vector<double> g = got.to_vector(), r = ref.to_vector(), s = abs_sum.to_vector();
  for (size_t i = 0; i < g.size(); ++i) {
    double bound = rel * std::abs(r[i]) + acc * s[i] + 1e-30;
    if (!(std::abs(g[i] - r[i]) <= bound))
      return ::testing::AssertionFailure() << "element " << i << ": " << g[i] << " vs " << r[i] << " (bound " << bound
                                           << ")";
  }
  return ::testing::AssertionSuccess();
}

// One rounding of the output: 2^-8 relative for bf16, 2^-11 for f16 (f32/f64 round nothing more).
double output_rounding(DType dt) { return dt == DType::bf16 ? 0x1p-8 : dt == DType::f16 ? 0x1p-11 : 0.0; }

// Checks CPU and CUDA matmul of a, b (already in their dtype) against the f64 product.
// Operands on the GPU are used there as they are (views keep their strides and alignment);
// CPU ones are copied over.
void expect_forward_parity(const Tensor& a_in, const Tensor& b_in, bool ta, bool tb) {
  const Tensor a = a_in.to(Device::cpu()), b = b_in.to(Device::cpu());
  const Tensor ag = a_in.device().is_cuda() ? a_in : a.to(kGpu), bg = b_in.device().is_cuda() ? b_in : b.to(kGpu);
  const int64_t K = ta ? a.size(-2) : a.size(-1);
  const DType dt = a.dtype();
  const double u = dt == DType::f64 ? 0x1p-53 : 0x1p-24;
  const double rel = output_rounding(dt);
  Tensor ref = kernels::matmul(a.to(DType::f64), b.to(DType::f64), ta, tb);
  Tensor abs_sum = kernels::matmul(abs_f64(a), abs_f64(b), ta, tb);
  Tensor gpu = kernels::matmul(ag, bg, ta, tb);
  EXPECT_EQ(gpu.dtype(), dt);
  EXPECT_TRUE(within_bound(gpu.to(Device::cpu()), ref, abs_sum, rel, K * u))
      << dtype_name(dt) << " " << a.desc() << " x " << b.desc() << " ta=" << ta << " tb=" << tb;
  EXPECT_TRUE(within_bound(kernels::matmul(a, b, ta, tb), ref, abs_sum, rel, K * u)) << "cpu " << dtype_name(dt);
}

TEST(CudaMatmul, ForwardAllTransposesF32Bf16F16F64) {
  LINEA_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::bf16, DType::f16, DType::f64})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        // Equal batches, odd sizes.
        expect_forward_parity(random_tensor(matrix_shape({3}, 33, 67, ta), 1).to(dt),
                              random_tensor(matrix_shape({3}, 67, 29, tb), 2).to(dt), ta, tb);
        // Transposed storage (column-major operands) and a shared 2-D b.
        expect_forward_parity(random_strided(matrix_shape({2, 2}, 17, 40, ta), 3).to(dt),
                              random_tensor(matrix_shape({}, 40, 24, tb), 4).to(dt), ta, tb);
        // A shared 2-D a against a batched b (stride-0 batch for a).
        expect_forward_parity(random_tensor(matrix_shape({}, 17, 40, ta), 5).to(dt),
                              random_strided(matrix_shape({4}, 40, 24, tb), 6).to(dt), ta, tb);
      }
}

TEST(CudaMatmul, ForwardBroadcastAndMisalignedViews) {
  LINEA_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::bf16, DType::f16}) {
    // [2, 1] x [1, 3] batches: no single batch stride, copied to a dense batch.
    expect_forward_parity(random_tensor({2, 1, 9, 31}, 7).to(dt), random_tensor({1, 3, 31, 12}, 8).to(dt), false,
                          false);
    // Views of GPU memory starting one element into their storage with odd leading dims:
    // pointers and strides only 2- or 4-byte aligned, so cuBLASLt must pick a kernel that
    // allows it (or say clearly that none does).
    Tensor a = random_tensor({3, 25, 42}, 9).to(kGpu, dt).slice(2, 1, 42);
    Tensor b = random_tensor({42, 19}, 10).to(kGpu, dt).slice(0, 1, 42);
    expect_forward_parity(a, b, false, false);
    expect_forward_parity(a, b.slice(1, 1, 19).transpose(0, 1), false, true);
  }
  // K = 0 gives zeros; an empty batch gives an empty result.
  Tensor z = kernels::matmul(Tensor::ones({3, 0}, DType::f32, kGpu), Tensor::ones({0, 4}, DType::f32, kGpu));
  EXPECT_EQ(z.to(Device::cpu()).to_vector(), std::vector<double>(12, 0.0));
  EXPECT_EQ(kernels::matmul(Tensor::ones({0, 2, 5}, DType::f32, kGpu), Tensor::ones({5, 4}, DType::f32, kGpu)).shape(),
            (Shape{0, 2, 4}));
}

// dA, dB of sum(matmul(a, b) * w) on `device`, returned on the CPU in f64.
std::pair<Tensor, Tensor> grads(Device device, const Tensor& a, const Tensor& b, const Tensor& w, bool ta, bool tb) {
  Variable va(a.to(device), true), vb(b.to(device), true);
  sum(mul(matmul(va, vb, ta, tb), Variable(w.to(device)))).backward();
  return {va.grad().to(Device::cpu(), DType::f64), vb.grad().to(Device::cpu(), DType::f64)};
}

TEST(CudaMatmul, BackwardMatchesF64Reference) {
  LINEA_REQUIRE_GPU();
  // dA = w op(B)^T sums N = 29 products and dB = op(A)^T w sums M * batch = 99 products
  // (b is shared, so its gradient is one GEMM over the folded batch), each |term| <= 1:
  // the fp32 bound is n u32 * n with n <= 99, below 6e-4; bf16 and f16 add one rounding.
  for (DType dt : {DType::f32, DType::bf16, DType::f16})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        Tensor a = random_tensor(matrix_shape({3}, 33, 67, ta), 11).to(dt);
        Tensor b = random_tensor(matrix_shape({}, 67, 29, tb), 12).to(dt);
        Tensor w = random_tensor({3, 33, 29}, 13).to(dt);
        auto [ra, rb] = grads(Device::cpu(), a.to(DType::f64), b.to(DType::f64), w.to(DType::f64), ta, tb);
        auto [ga, gb] = grads(kGpu, a, b, w, ta, tb);
        const double atol = 99.0 * 99.0 * 0x1p-24, rtol = output_rounding(dt);
        EXPECT_TRUE(all_close(ga, ra, atol, rtol)) << dtype_name(dt) << " dA ta=" << ta << " tb=" << tb;
        EXPECT_TRUE(all_close(gb, rb, atol, rtol)) << dtype_name(dt) << " dB ta=" << ta << " tb=" << tb;
      }
}

TEST(CudaMatmul, LinearBackwardMatchesCpu) {
  LINEA_REQUIRE_GPU();
  // f32 on both sides: dx sums 24 terms, dW and the bias 2 * 16 = 32, each |term| <= 1, so
  // each side is within 32 u32 * 32 of the exact value.
  Tensor x = random_tensor({2, 16, 48}, 14).to(DType::f32), wt = random_tensor({24, 48}, 15).to(DType::f32);
  Tensor bias = random_tensor({24}, 16).to(DType::f32), g = random_tensor({2, 16, 24}, 17).to(DType::f32);
  auto run = [&](Device d) {
    Variable vx(x.to(d), true), vw(wt.to(d), true), vb(bias.to(d), true);
    linear(vx, vw, vb).backward(g.to(d));
    return std::vector<Tensor>{vx.grad().to(Device::cpu()), vw.grad().to(Device::cpu()), vb.grad().to(Device::cpu())};
  };
  std::vector<Tensor> cpu = run(Device::cpu()), gpu = run(kGpu);
  const double atol = 2 * 32.0 * 32.0 * 0x1p-24;
  for (size_t i = 0; i < cpu.size(); ++i) EXPECT_TRUE(all_close(gpu[i], cpu[i], atol, 0.0)) << "input " << i;
}

}  // namespace
