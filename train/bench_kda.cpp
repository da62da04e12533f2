#include "train/bench_kda.h"

#include <omp.h>

#include <cmath>
#include <cstdio>

#include "autograd/ops/attention.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/kda.h"
#include "autograd/ops/rms_norm.h"
#include "core/rng.h"
#include "train/bench_timing.h"

namespace linea {

int run_bench_kda(const BenchCommand& cmd) {
  const Device device = cmd.device.empty() ? Device::cpu() : device_from_name(cmd.device);
  const int64_t B = cmd.batch, H = cmd.heads, D = cmd.head_dim;
  LINEA_CHECK_T(ConfigError, B > 0 && H > 0 && D > 0 && !cmd.contexts.empty(),
                "bench kda: --batch, --heads, --head-dim must be positive and --lengths non-empty");
  std::printf("linea kda: B=%ld H=%ld K=V=%ld chunk 64, f32 %s, %d threads; forward + backward (recurrent: forward "
              "only), peak = allocator high-water mark incl. inputs and gradients%s\n",
              long(B), long(H), long(D), device.str().c_str(), omp_get_max_threads(),
              device.is_cpu() ? "" : "; on CUDA both KDA rows run the token recurrence (no chunkwise CUDA kernel yet)");
  std::printf("%-14s %7s %10s %12s %10s\n", "kernel", "T", "ms", "tokens/s", "peak MiB");
  Generator gen(7);
  for (int64_t T : cmd.contexts) {
    LINEA_CHECK_T(ConfigError, T > 0, "bench kda: --lengths: expected lengths > 0, got ", T);
    // fla's test inputs (specs/kimi_linear.md §2.6): q, k uniform then L2-normalised, v uniform,
    // g = logsigmoid(N(0, 1)), β = sigmoid(N(0, 1)).
    const Shape s{B, H, T, D};
    auto l2 = [&](const Tensor& x) {
      return scale(rms_norm(Variable(x), Variable(), 1e-6 / double(D)), 1.0 / std::sqrt(double(D))).data();
    };
    auto normal = [&](const Shape& shape) {
      Tensor t = Tensor::empty(shape, DType::f32);
      normal_(t, gen, 0.0, 1.0);
      return t.to(device);
    };
    const Variable q(l2(rand_uniform(s, gen, DType::f32, device)), true);
    const Variable k(l2(rand_uniform(s, gen, DType::f32, device)), true);
    const Variable v(rand_uniform(s, gen, DType::f32, device), true);
    const Variable g(logsigmoid(Variable(normal(s))).data(), true), beta(sigmoid(Variable(normal({B, H, T}))).data(), true);
    const Variable w(rand_uniform(s, gen, DType::f32, device));
    const int64_t repeats = std::max<int64_t>(1, 8192 / T);
    const kernels::KdaOptions options;
    const MixerTiming chunked =
        time_forward_backward([&] { return kda(q, k, v, g, beta, options).out; }, {q, k, v, g, beta}, w, repeats);
    const MixerTiming recurrent = time_forward(
        [&] { return Variable(kernels::kda_recurrent_fwd(q.data(), k.data(), v.data(), g.data(), beta.data(), options,
                                                         Tensor(), nullptr)); },
        device, repeats);
    const MixerTiming softmax =
        time_forward_backward([&] { return scaled_dot_product_attention(q, k, v, true); }, {q, k, v}, w, repeats);
    for (const auto& [name, t] : {std::pair<const char*, MixerTiming>{"kda_chunked", chunked},
                                  {"kda_recurrent", recurrent},
                                  {"softmax", softmax}})
      std::printf("%-14s %7ld %10.2f %12.0f %10.1f\n", name, long(T), t.ms, double(B * T) / (t.ms / 1e3), t.peak_mib);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace linea
