#include "train/bench_decoder.h"

#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "configs/config.h"
#include "core/allocator.h"
#include "core/rng.h"
#include "layers/decoder.h"
#include "layers/moe.h"
#include "optim/clip.h"
#include "optim/optimizer.h"
#include "train/gemm_timing.h"

namespace linea {

int run_bench_decoder(const BenchCommand& cmd) {
  const std::string& recipe = cmd.recipe;
  const int64_t steps = cmd.steps;
  Config cfg = load_config(recipe, cmd.overrides);
  if (cfg.train.threads > 0) omp_set_num_threads(int(cfg.train.threads));
  const Device device = cfg.train.device;
  const DType dtype = cfg.train.precision == Precision::bf16 ? DType::bf16 : DType::f32;
  const int64_t B = cfg.train.micro_batch_size, T = cfg.data.seq_len;

  Decoder model(cfg.model, device, dtype);
  model.set_recompute(cfg.train.recompute);
  Generator gen(uint64_t(cfg.seed));
  model.init_parameters(gen);
  AdamW opt(make_param_groups(model.named_parameters(), cfg.optim.weight_decay, cfg.optim.no_decay));
  Tensor u = rand_uniform({B, T + 1}, gen, DType::f64);
  std::vector<double> ids = u.to_vector();
  for (double& v : ids) v = std::floor(v * double(cfg.model.vocab_size));
  Tensor tokens = Tensor::from_vector(ids, {B, T + 1}, DType::i64, device);
  Tensor inputs = tokens.slice(1, 0, T).contiguous(), targets = tokens.slice(1, 1, T + 1).contiguous();

  auto step = [&] {
    opt.zero_grad();
    Variable loss = model.loss(inputs, targets);
    loss.backward();
    clip_grad_norm(model.named_parameters(), 1.0);
    opt.step(1e-4);
    return loss.data().item();
  };
  step();  // warm-up: allocator caches, cuBLASLt handles
  reset_peak_memory(device);
  // MoE layers time their routing and permutation (forward): its share of the step.
  auto routing_seconds = [&] {
    double total = 0;
    for (auto& [name, m] : model.named_modules())
      if (const auto* moe = dynamic_cast<const Moe*>(m)) total += moe->routing_seconds();
    return total;
  };
  const double routing0 = routing_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t s = 0; s < steps; ++s) step();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double tokens_per_s = double(B * T * steps) / secs;
  const double peak = gemm_peak_flops(device, dtype);
  const double mfu = tokens_per_s * double(model.flops_per_token(T)) / peak;
  std::printf("linea   %-28s params %6.1fM  B=%ld T=%ld threads=%d  %9.0f tokens/s  %6.1f ms/step  MFU %5.1f%% "
              "(of %.0f GFLOP/s GEMM peak)  peak mem %.0f MiB\n",
              recipe.c_str(), double(model.num_parameters()) / 1e6, long(B), long(T), omp_get_max_threads(),
              tokens_per_s, 1e3 * secs / double(steps), 100 * mfu, peak / 1e9,
              double(memory_stats(device).peak_bytes) / (1 << 20));
  const double routing = routing_seconds() - routing0;
  if (routing > 0)
    std::printf("        MoE routing + permutation (forward): %.1f ms/step, %.1f%% of the step\n",
                1e3 * routing / double(steps), 100 * routing / secs);
  return 0;
}

}  // namespace linea
