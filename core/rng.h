// Generator: the (seed, offset) state of the Philox stream. Each draw of n numbers
// reserves ceil(n / 4) counters, so the offset (saved in checkpoints) fully determines
// what comes next. Random tensor factories live here too.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace linea {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0, uint64_t offset = 0) : seed_(seed), offset_(offset) {}
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void set_state(uint64_t seed, uint64_t offset) { seed_ = seed; offset_ = offset; }
  // Reserves counters for n numbers and returns the offset where they start.
  uint64_t reserve(int64_t n) {
    uint64_t start = offset_;
    offset_ += uint64_t(n + 3) / 4;
    return start;
  }

 private:
  uint64_t seed_;
  uint64_t offset_;
};

// The process-wide generator that dropout and initializers use unless given one.
Generator& default_generator();

// Fill `out` (any floating dtype, any device, contiguous) from the stream.
void uniform_(const Tensor& out, Generator& gen, double low = 0.0, double high = 1.0);
void normal_(const Tensor& out, Generator& gen, double mean = 0.0, double std = 1.0);
void bernoulli_(const Tensor& out, Generator& gen, double p);  // 1 with probability p, else 0

Tensor rand_uniform(const Shape& shape, Generator& gen, DType dtype = DType::f32, Device device = Device::cpu());
Tensor rand_normal(const Shape& shape, Generator& gen, DType dtype = DType::f32, Device device = Device::cpu());

}  // namespace linea
