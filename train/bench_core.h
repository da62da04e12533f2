// `linea bench core`: kernel throughput (GEMM GFLOP/s, memory-bound kernels' GB/s next to
// a memcpy of the same bytes) on CPU and, where present, CUDA.
#pragma once
#include "train/bench.h"

namespace linea {
int run_bench_core(const BenchCommand& cmd);
}
