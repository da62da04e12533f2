// `linea bench SUITE`: throughput benchmarks. core: kernel throughput on CPU and, where
// present, CUDA; decoder / encoder: training throughput of a recipe's model on synthetic
// batches; generate: a checkpoint's decoding speed by context length (see bench_core.h,
// bench_decoder.h, bench_encoder.h, bench_generate.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace linea {

struct BenchCommand {
  std::string suite;                   // core, decoder, encoder or generate
  std::string device;                  // core: "" = cpu, and cuda:0 when present
  bool quick = false;                  // core: fewer sizes and repetitions
  std::string recipe;                  // decoder, encoder
  std::vector<std::string> overrides;  // decoder, encoder: "a.b=v"
  int64_t steps = 5;                   // decoder, encoder: timed steps
  std::string save_batch;              // encoder: batch + FLOP counts; generate: prompts and tokens (PyTorch reference)
  std::string checkpoint;              // generate
  std::vector<int64_t> contexts = {128, 1024, 4096};  // generate: prompt lengths
  int64_t new_tokens = 64;             // generate: greedy tokens per context
  std::string data;                    // generate: shards the prompts come from ("": the recipe's data.valid)
};

int run_bench(const BenchCommand& cmd);

}  // namespace linea
