// `linea bench decoder RECIPE`: training throughput of a recipe's decoder (tokens/s, MFU,
// peak memory) on random token ids, which is all a throughput number needs.
#pragma once
#include <string>
#include <vector>

namespace linea {

// args: RECIPE [--steps N] [--set k=v]...
int run_bench_decoder(const std::vector<std::string>& args);

}  // namespace linea
