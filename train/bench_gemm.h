// bench_gemm: GEMM throughput (GFLOP/s) at the shapes a 256-to-1024-wide transformer
// runs, plus 1024^3 and 2048^3 and their throughput ratio. Used by `linea bench core`.
#pragma once
#include "core/device.h"
#include "core/dtype.h"

namespace linea {

// Prints one line per shape (fp32; bf16 too on CUDA). quick: fewer timed repetitions.
void bench_gemm(Device device, bool quick);

// The machine's practical GEMM peak in FLOP/s, the denominator of MFU: a square GEMM of
// 2048^3 on CPU (8192^3 on CUDA) in `dtype`, median of a few timed runs (~0.5 s on CPU).
double gemm_peak_flops(Device device, DType dtype);

}  // namespace linea
