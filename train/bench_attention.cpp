#include "train/bench_attention.h"

#include <omp.h>

#include <chrono>
#include <cstdio>

#include "autograd/ops/attention.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/lightning_attention.h"
#include "autograd/ops/reduce.h"
#include "core/allocator.h"
#include "core/rng.h"
#include "layers/linear_attention.h"

namespace linea {
namespace {

struct Timing {
  double ms = 0, peak_mib = 0;
};

// Mean time of forward + backward of sum(out ⊙ g) (one warm-up first) and the allocator's
// peak during the timed calls, inputs and their gradients included.
template <class Mixer>
Timing time_mixer(const Mixer& mixer, const Variable& q, const Variable& k, const Variable& v, const Variable& g,
                  int64_t repeats) {
  auto once = [&] {
    for (Variable x : {q, k, v}) x.zero_grad();  // handles share the gradient
    sum(mul(mixer(q, k, v), g)).backward();
  };
  once();
  reset_peak_memory(q.device());
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t r = 0; r < repeats; ++r) once();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return {1e3 * secs / double(repeats), double(memory_stats(q.device()).peak_bytes) / (1 << 20)};
}

}  // namespace

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
    const Timing lt = time_mixer(
        [&](const Variable& a, const Variable& b, const Variable& c) { return lightning_attention(a, b, c, lightning).out; },
        q, k, v, g, repeats);
    const Timing st = time_mixer(
        [](const Variable& a, const Variable& b, const Variable& c) { return scaled_dot_product_attention(a, b, c, true); },
        q, k, v, g, repeats);
    for (const auto& [name, t] : {std::pair<const char*, Timing>{"lightning", lt}, {"softmax", st}})
      std::printf("%-10s %7ld %10.2f %12.0f %10.1f\n", name, long(T), t.ms, double(B * T) / (t.ms / 1e3), t.peak_mib);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace linea
