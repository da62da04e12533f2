#include "train/bench_attention.h"

#include <omp.h>

#include <cstdio>

#include "autograd/ops/attention.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/lightning_attention.h"
#include "core/rng.h"
#include "layers/linear_attention.h"
#include "train/bench_timing.h"

namespace linea {

int run_bench_attention(const BenchCommand& cmd) {
  const Device device = cmd.device.empty() ? Device::cpu() : device_from_name(cmd.device);
  const int64_t B = cmd.batch, H = cmd.heads, D = cmd.head_dim;
  LINEA_CHECK_T(ConfigError, B > 0 && H > 0 && D > 0 && !cmd.contexts.empty(),
                "bench attention: --batch, --heads, --head-dim must be positive and --lengths non-empty");
  kernels::LightningOptions lightning;
  lightning.decay = Tensor::from_vector(tnl_decay(H, 0, 2), {H}, DType::f64);
  std::printf("linea attention: B=%ld H=%ld D=%ld f32 %s, %d threads; forward + backward, peak = allocator high-water "
              "mark incl. inputs and gradients\n",
              long(B), long(H), long(D), device.str().c_str(), omp_get_max_threads());
  std::printf("%-10s %7s %10s %12s %10s\n", "kernel", "T", "ms", "tokens/s", "peak MiB");
  Generator gen(7);
  for (int64_t T : cmd.contexts) {
    LINEA_CHECK_T(ConfigError, T > 0, "bench attention: --lengths: expected lengths > 0, got ", T);
    // Inputs of size 0.1 as the Lightning repository's tests; the softmax does not mind.
    auto uniform = [&](double lo, double hi) {
      return add_scalar(scale(Variable(rand_uniform({B, H, T, D}, gen, DType::f32, device)), hi - lo), lo).data();
    };
    const Variable q(uniform(-0.1, 0.1), true), k(uniform(-0.1, 0.1), true), v(uniform(-0.1, 0.1), true);
    const Variable g(uniform(-1, 1));
    const int64_t repeats = std::max<int64_t>(1, 8192 / T);
    const MixerTiming lt =
        time_forward_backward([&] { return lightning_attention(q, k, v, lightning).out; }, {q, k, v}, g, repeats);
    const MixerTiming st =
        time_forward_backward([&] { return scaled_dot_product_attention(q, k, v, true); }, {q, k, v}, g, repeats);
    for (const auto& [name, t] : {std::pair<const char*, MixerTiming>{"lightning", lt}, {"softmax", st}})
      std::printf("%-10s %7ld %10.2f %12.0f %10.1f\n", name, long(T), t.ms, double(B * T) / (t.ms / 1e3), t.peak_mib);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace linea
