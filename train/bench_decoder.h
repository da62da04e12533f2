// `linea bench decoder RECIPE`: training throughput of a recipe's decoder (tokens/s, MFU,
// peak memory) on random token ids, which is all a throughput number needs.
#pragma once
#include "train/bench.h"

namespace linea {

int run_bench_decoder(const BenchCommand& cmd);

}  // namespace linea
