// bench kda: forward + backward time and peak memory of Kimi Delta Attention alone (q, k, v,
// g, β given) at several lengths: the chunkwise kernel, the token-by-token recurrence
// (forward only: it is the oracle and has no backward) and linea's fused causal softmax on
// q, k, v of the same shapes, with the same threads. scripts/bench_kda.sh runs it beside a
// PyTorch implementation of the chunkwise algorithm.
#pragma once
#include "train/bench.h"

namespace linea {

int run_bench_kda(const BenchCommand& cmd);

}  // namespace linea
