// `linea bench SUITE`: throughput benchmarks. core: kernel throughput on CPU and, where
// present, CUDA; decoder / encoder: training throughput of a recipe's model on synthetic
// batches; generate: a checkpoint's decoding speed by context length; attention: lightning
// vs softmax attention alone by sequence length (see bench_core.h, bench_decoder.h,
// bench_encoder.h, bench_generate.h, bench_attention.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace linea {

struct BenchCommand {
  std::string suite;                   // core, decoder, encoder, generate or attention
  std::string device;                  // core: "" = cpu, and cuda:0 when present
  bool quick = false;                  // core: fewer sizes and repetitions
  std::string recipe;                  // decoder, encoder
  std::vector<std::string> overrides;  // decoder, encoder: "a.b=v"
  int64_t steps = 5;                   // decoder, encoder: timed steps
  std::string save_batch;              // encoder: batch + FLOP counts; generate: prompts and tokens (PyTorch reference)
  std::string checkpoint;              // generate
  std::vector<int64_t> contexts = {128, 1024, 4096};  // generate: prompt lengths; attention: sequence lengths
  int64_t new_tokens = 64;             // generate: greedy tokens per context
  std::string data;                    // generate: shards the prompts come from ("": the recipe's data.valid)
  int64_t batch = 1, heads = 8, head_dim = 64;  // attention: q, k, v [batch, heads, T, head_dim]
};

int run_bench(const BenchCommand& cmd);

}  // namespace linea
