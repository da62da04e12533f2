#include "train/bench_generate.h"

#include <omp.h>

#include <algorithm>
#include <cstdio>

#include "configs/config.h"
#include "core/allocator.h"
#include "core/io/hdf5_file.h"
#include "data/token_shards.h"
#include "layers/decoder.h"
#include "train/checkpoint.h"
#include "train/generate.h"
#include "train/run_dir.h"

namespace linea {

int run_bench_generate(const BenchCommand& cmd) {
  const std::string checkpoint = resolve_checkpoint(cmd.checkpoint);
  const Config cfg = parse_config(read_checkpoint_config(checkpoint), checkpoint);
  LINEA_CHECK_T(ConfigError, cfg.model.kind == ModelKind::decoder, "bench generate: ", checkpoint,
                " holds an encoder, expected a decoder");
  LINEA_CHECK_T(ConfigError, !cmd.contexts.empty(), "bench generate: --contexts: expected lengths, e.g. 128,1024,4096");
  if (cfg.train.threads > 0) omp_set_num_threads(int(cfg.train.threads));
  const Device device = cmd.device.empty() ? cfg.train.device : device_from_name(cmd.device);
  const int64_t longest = *std::max_element(cmd.contexts.begin(), cmd.contexts.end());
  ModelConfig m = cfg.model;
  m.max_seq_len = std::max(m.max_seq_len, longest + cmd.new_tokens);
  Decoder model(m, device);
  load_checkpoint(checkpoint, model, nullptr, nullptr);
  const std::string data = cmd.data.empty() ? cfg.data.valid : cmd.data;
  TokenShards shards(data);
  LINEA_CHECK_T(DataError, shards.total_tokens() >= longest, "bench generate: ", data, " holds ",
                shards.total_tokens(), " tokens, fewer than the context ", longest);
  std::unique_ptr<H5File> save;
  if (!cmd.save_batch.empty()) save = std::make_unique<H5File>(H5File::create(cmd.save_batch));
  GenerationOptions o;
  o.max_new_tokens = cmd.new_tokens;
  o.sampling.temperature = 0;  // greedy: the PyTorch loop must produce the same tokens
  std::printf("linea generate %s: %d threads, %ld new tokens per context (greedy, batch 1)\n", checkpoint.c_str(),
              omp_get_max_threads(), long(cmd.new_tokens));
  for (int64_t L : cmd.contexts) {
    LINEA_CHECK_T(ConfigError, L > 0, "bench generate: --contexts: expected lengths > 0, got ", L);
    const std::vector<double> ids = shards.read(0, L).to_vector();
    std::vector<std::vector<int32_t>> prompt(1);
    for (double v : ids) prompt[0].push_back(int32_t(v));
    generate(model, {std::vector<int32_t>(prompt[0].begin(), prompt[0].begin() + std::min<int64_t>(L, 16))},
             GenerationOptions{4, o.sampling, 0, -1, 0});  // warm-up: caches, allocator, threads
    reset_peak_memory(device);
    const Generated g = generate(model, prompt, o);
    const double tokens = double(g.tokens[0].size());
    // Peak tensor memory of prefill + decoding (weights excluded: they were allocated before).
    const double peak_mib = double(memory_stats(device).peak_bytes) / double(1 << 20);
    std::printf("linea context %ld: prefill %.3f s (%.0f tokens/s), %ld new tokens in %.3f s: %.1f tokens/s, "
                "peak %.1f MiB\n",
                long(L), g.prefill_seconds, double(L) / g.prefill_seconds, long(tokens), g.decode_seconds,
                (tokens - 1) / g.decode_seconds, peak_mib);
    if (save) {
      std::vector<double> out(g.tokens[0].begin(), g.tokens[0].end());
      save->write_tensor(str_cat("/prompt_", L), Tensor::from_vector(ids, {L}, DType::i64));
      save->write_tensor(str_cat("/tokens_", L), Tensor::from_vector(out, {int64_t(out.size())}, DType::i64));
    }
  }
  if (save) save->close();
  return 0;
}

}  // namespace linea
