// bench_gemm: GEMM throughput (GFLOP/s) at the shapes a 256-to-1024-wide transformer
// runs, plus 1024^3 and 2048^3 and their throughput ratio. Used by `linea bench core`.
#pragma once
#include "core/device.h"
#include "core/dtype.h"

namespace linea {

// Prints one line per shape (fp32; bf16 too on CUDA). quick: fewer timed repetitions.
void bench_gemm(Device device, bool quick);

}  // namespace linea
