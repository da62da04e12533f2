// Batched matrix multiply C = op(A) op(B) with broadcast batch dims: the GEMM behind
// matmul/linear. CPU uses Eigen (fp32 accumulate for bf16/f16), CUDA uses cuBLASLt.
#pragma once
#include "core/tensor.h"

namespace linea::kernels {

// a [..., M, K] ([..., K, M] when trans_a), b [..., K, N] ([..., N, K] when trans_b)
// -> c [broadcast(a batch, b batch)..., M, N], a new contiguous tensor of the inputs' dtype.
// Both operands need at least 2 dims and the same floating dtype and device.
Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);

}  // namespace linea::kernels

// Device implementations. kernels::matmul hands them 3-D operands
//   a [Ba, M, K], b [Bb, K, N], c [B, M, N]   with Ba, Bb in {1, B} (1 = shared by every batch),
// where a and b have unit stride in one of their last two dims and a leading dimension
// (the other stride) of at least that dim's partner extent, and c is contiguous.
// M, N, K and B are all > 0.
namespace linea::cpu {
void matmul(const Tensor& a, const Tensor& b, const Tensor& c);
}  // namespace linea::cpu

namespace linea::cuda {
void matmul(const Tensor& a, const Tensor& b, const Tensor& c);
}  // namespace linea::cuda
