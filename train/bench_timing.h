// Timing of a sequence mixer alone for the attention benchmarks (bench attention, bench kda):
// the mean over `repeats` calls after one warm-up, and the allocator's high-water mark during
// the timed calls (the inputs and their gradients included).
#pragma once
#include <functional>
#include <vector>

#include "autograd/variable.h"

namespace linea {

struct MixerTiming {
  double ms = 0, peak_mib = 0;
};

// Forward + backward of sum(run() ⊙ weights); `inputs` are the leaves whose gradients are
// cleared before each call.
MixerTiming time_forward_backward(const std::function<Variable()>& run, const std::vector<Variable>& inputs,
                                  const Variable& weights, int64_t repeats);
// Forward alone, without recording a graph.
MixerTiming time_forward(const std::function<Variable()>& run, Device device, int64_t repeats);

}  // namespace linea
