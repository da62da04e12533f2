#include "train/bench_timing.h"

#include <chrono>

#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "core/allocator.h"

namespace linea {
namespace {

MixerTiming timed(const std::function<void()>& once, Device device, int64_t repeats) {
  once();
  reset_peak_memory(device);
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t r = 0; r < repeats; ++r) once();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return {1e3 * secs / double(repeats), double(memory_stats(device).peak_bytes) / (1 << 20)};
}

}  // namespace

MixerTiming time_forward_backward(const std::function<Variable()>& run, const std::vector<Variable>& inputs,
                                  const Variable& weights, int64_t repeats) {
  return timed(
      [&] {
        for (Variable x : inputs) x.zero_grad();  // handles share the gradient
        sum(mul(run(), weights)).backward();
      },
      weights.device(), repeats);
}

MixerTiming time_forward(const std::function<Variable()>& run, Device device, int64_t repeats) {
  return timed(
      [&] {
        NoGradGuard no_grad;
        run();
      },
      device, repeats);
}

}  // namespace linea
