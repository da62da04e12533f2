#include "train/bench.h"

#include "core/error.h"
#include "train/bench_core.h"
#include "train/bench_decoder.h"
#include "train/bench_encoder.h"
#include "train/bench_attention.h"
#include "train/bench_generate.h"
#include "train/bench_kda.h"

namespace linea {

int run_bench(const BenchCommand& cmd) {
  if (cmd.suite == "core") return run_bench_core(cmd);
  if (cmd.suite == "decoder") return run_bench_decoder(cmd);
  if (cmd.suite == "encoder") return run_bench_encoder(cmd);
  if (cmd.suite == "generate") return run_bench_generate(cmd);
  if (cmd.suite == "attention") return run_bench_attention(cmd);
  if (cmd.suite == "kda") return run_bench_kda(cmd);
  throw ConfigError(
      str_cat("bench: unknown suite '", cmd.suite, "', expected core, decoder, encoder, generate, attention or kda"));
}

}  // namespace linea
