// bench generate: generation throughput of a decoder checkpoint at several context lengths:
// a prompt of the first L tokens of its validation shards (real text), prefilled in one
// forward, then greedy decoding of new tokens one step at a time with the KV caches.
// Contexts past the model's max_seq_len are allowed here (speed does not depend on whether
// the positions were trained). --save writes the prompts and tokens for
// scripts/bench_generate.sh, which runs the PyTorch loop on the same weights and prompts.
#pragma once
#include "train/bench.h"

namespace linea {

int run_bench_generate(const BenchCommand& cmd);

}  // namespace linea
