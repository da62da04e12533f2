// GEMM timing shared by the benchmarks (`linea bench core`) and the MFU denominator
// (train/mfu_peak.h): one way to time kernels::matmul, so the peak MFU divides by is
// measured exactly as the benchmark reports GEMM rates.
#pragma once
#include <cstdint>

#include "core/device.h"
#include "core/dtype.h"

namespace linea {

// C [M, N] = A [M, K] B [K, N], or B stored [N, K] (trans_b: a weight as linear uses it).
struct GemmShape {
  int64_t M, N, K;
  bool trans_b;
};

// Median seconds per GEMM of `shape` on uniform inputs, after a warm-up; each sample
// repeats the GEMM for at least ~20 ms. quick: 3 samples instead of 7.
double time_gemm(const GemmShape& shape, DType dtype, Device device, bool quick);

// The machine's practical GEMM peak in FLOP/s, the denominator of MFU: a square GEMM of
// 2048^3 on CPU (8192^3 on CUDA) in `dtype`, median of a few timed runs (~0.5 s on CPU).
double gemm_peak_flops(Device device, DType dtype);

}  // namespace linea
