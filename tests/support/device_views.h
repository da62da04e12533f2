// Inputs for CPU/CUDA parity tests that must reach a kernel's strided or misaligned path on
// the GPU. `.to(cuda)` always copies into a dense, aligned tensor, so these views are made
// on the device itself; the CPU reference is the same view brought back (`.to(cpu)`).
#pragma once
#include <cstdint>

#include "support/testing.h"

namespace linea::testing {

// random_strided's values, stored on `device` as `dtype` and transposed there: a
// non-contiguous view of device memory.
inline Tensor strided_on(Device device, const Shape& shape, uint64_t seed, DType dtype, double lo = -1.0,
                         double hi = 1.0) {
  Shape swapped = shape;
  std::swap(swapped[swapped.size() - 1], swapped[swapped.size() - 2]);
  Tensor t = random_tensor(swapped, seed, lo, hi).to(device, dtype).transpose(-1, -2);
  LINEA_ASSERT(!t.is_contiguous(), "strided_on: ", t.desc(), " came out contiguous");
  return t;
}

// True when t's data pointer misses 16-byte alignment (what vector loads need).
inline bool misaligned(const Tensor& t) { return reinterpret_cast<uintptr_t>(t.data_ptr()) % 16 != 0; }

// Random values in [lo, hi) in a dense view on `device` that starts one element into its
// storage, so its data pointer is only dtype-size aligned.
inline Tensor misaligned_on(Device device, const Shape& shape, uint64_t seed, DType dtype, double lo = -1.0,
                            double hi = 1.0) {
  const int64_t n = shape_numel(shape);
  Tensor t = random_tensor({n + 1}, seed, lo, hi).to(device, dtype).slice(0, 1, n + 1).reshape(shape);
  LINEA_ASSERT(t.is_contiguous() && misaligned(t), "misaligned_on: ", t.desc(), " is not a misaligned dense view");
  return t;
}

}  // namespace linea::testing
