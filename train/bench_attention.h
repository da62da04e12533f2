// bench attention: forward + backward time and peak memory of the sequence mixing alone
// (q, k, v given, [B, H, T, D]) at several lengths: `lightning` (Lightning Attention-2
// blockwise with TNL's layer-0 decay) against linea's fused causal softmax attention, on the
// same shapes and threads. scripts/bench_linear_attention.sh runs it beside a PyTorch
// implementation of the same blockwise algorithm.
#pragma once
#include "train/bench.h"

namespace linea {

int run_bench_attention(const BenchCommand& cmd);

}  // namespace linea
