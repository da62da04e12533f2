// Philox fills shared by the CPU and CUDA backends: element i of `out` is a pure function
// of (seed, offset, i). Kinds: uniform in [a, b), normal(mean=a, std=b) via Box-Muller on
// two words, bernoulli(p=a).
#pragma once
#include <cmath>

#include "core/philox.h"
#include "core/tensor.h"

namespace linea {

enum class RandomKind : uint8_t { uniform, normal, bernoulli };

struct RandomParams {
  RandomKind kind;
  uint64_t seed;
  uint64_t offset;
  float a, b;
};

// Value of element i. Normal uses words 2i and 2i+1, so it reserves twice the counters.
LINEA_HD float random_value(const RandomParams& p, int64_t i) {
  if (p.kind == RandomKind::normal) {
    float u1 = uniform_from_word(Philox4x32::word(p.seed, p.offset, 2 * uint64_t(i)));
    float u2 = uniform_from_word(Philox4x32::word(p.seed, p.offset, 2 * uint64_t(i) + 1));
    float r = sqrtf(-2.0f * logf(1.0f - u1));  // 1 - u1 in (0, 1]: log is finite
    return p.a + p.b * r * cosf(6.2831853071795864f * u2);
  }
  float u = uniform_from_word(Philox4x32::word(p.seed, p.offset, uint64_t(i)));
  if (p.kind == RandomKind::bernoulli) return u < p.a ? 1.0f : 0.0f;
  return p.a + (p.b - p.a) * u;
}

}  // namespace linea

namespace linea::cpu {
void random_fill(const Tensor& out, const RandomParams& p);
}
namespace linea::cuda {
void random_fill(const Tensor& out, const RandomParams& p);
}
