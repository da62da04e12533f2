// Shared helpers for linea's tests: random inputs, gradcheck and CPU/CUDA parity
// assertions, and the GPU skip (a failure where a GPU is required).
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "autograd/gradcheck.h"
#include "core/cuda_probe.h"
#include "core/rng.h"
#include "core/tensor.h"

namespace linea::testing {

// Uniform in [lo, hi), f64 on CPU unless told otherwise; seeded so failures reproduce.
inline Tensor random_tensor(const Shape& shape, uint64_t seed, double lo = -1.0, double hi = 1.0,
                            DType dtype = DType::f64, Device device = Device::cpu()) {
  Generator gen(seed);
  Tensor t = Tensor::empty(shape, DType::f64);
  uniform_(t, gen, lo, hi);
  return t.to(device, dtype);
}

// Token ids uniform in [0, vocab), i64 on the CPU; seeded.
inline Tensor random_ids(const Shape& shape, uint64_t seed, int64_t vocab = 37) {
  std::vector<double> u = random_tensor(shape, seed, 0.0, double(vocab)).to_vector();
  for (double& v : u) v = std::floor(v);
  return Tensor::from_vector(u, shape, DType::i64);
}

// The same values as `random_tensor(shape)` but stored transposed in its last two dims,
// so kernels see a non-contiguous input.
inline Tensor random_strided(const Shape& shape, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  Shape swapped = shape;
  std::swap(swapped[swapped.size() - 1], swapped[swapped.size() - 2]);
  return random_tensor(swapped, seed, lo, hi).transpose(-1, -2);
}

#define LINEA_EXPECT_GRADCHECK(fn, inputs)                                          \
  do {                                                                              \
    ::linea::GradcheckResult r_ = ::linea::gradcheck((fn), (inputs));               \
    EXPECT_TRUE(r_.ok) << "gradcheck failed (max abs error " << r_.max_abs_error    \
                       << "):\n" << r_.message;                                     \
  } while (0)

#define LINEA_EXPECT_GRADCHECK_OPTS(fn, inputs, opts)                               \
  do {                                                                              \
    ::linea::GradcheckResult r_ = ::linea::gradcheck((fn), (inputs), (opts));       \
    EXPECT_TRUE(r_.ok) << "gradcheck failed (max abs error " << r_.max_abs_error    \
                       << "):\n" << r_.message;                                     \
  } while (0)

// True when the run must not skip GPU tests: LINEA_REQUIRE_GPU set to anything but empty
// or 0 (scripts/test_gpu.sh sets it).
inline bool gpu_required() {
  const char* v = std::getenv("LINEA_REQUIRE_GPU");
  return v != nullptr && *v != '\0' && std::string(v) != "0";
}

// Records why a GPU test cannot run: a skip, or a failure where a GPU is required, so a
// machine whose driver is too old cannot pass the GPU suite by skipping it. The caller
// returns right after.
inline void gpu_unavailable(const std::string& why, bool required = gpu_required()) {
  if (required) {
    FAIL() << "a GPU is required (LINEA_REQUIRE_GPU=1) but this test cannot run: " << why;
  }
  GTEST_SKIP() << why;
}

// Ends the current test through gpu_unavailable, with the CUDA probe's reason, where no
// CUDA GPU is usable.
#define LINEA_REQUIRE_GPU()                                                                    \
  do {                                                                                         \
    if (!::linea::cuda_available()) {                                                          \
      ::linea::testing::gpu_unavailable(::linea::cuda_probe_summary(::linea::cuda_probe()));   \
      return;                                                                                  \
    }                                                                                          \
  } while (0)

// |a - b| <= atol + rtol * |b| elementwise (b is the reference), reporting the worst element.
inline ::testing::AssertionResult all_close(const Tensor& a, const Tensor& b, double atol, double rtol) {
  if (a.shape() != b.shape())
    return ::testing::AssertionFailure() << "shapes differ: " << a.desc() << " vs " << b.desc();
  std::vector<double> va = a.to_vector(), vb = b.to_vector();
  size_t bad = 0, worst = 0;
  double worst_excess = 0.0;
  for (size_t i = 0; i < va.size(); ++i) {
    double err = std::abs(va[i] - vb[i]);
    double allowed = atol + rtol * std::abs(vb[i]);
    bool nan_mismatch = std::isnan(va[i]) != std::isnan(vb[i]);
    if (nan_mismatch || err > allowed) {
      ++bad;
      if (nan_mismatch || err - allowed > worst_excess) {
        worst_excess = nan_mismatch ? INFINITY : err - allowed;
        worst = i;
      }
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << va.size() << " elements differ; worst at flat index "
                                       << worst << ": " << va[worst] << " vs " << vb[worst] << " (atol " << atol
                                       << ", rtol " << rtol << ")";
}

// max |a - b| <= rel * max(1, max |b|): agreement relative to the reference's scale, for
// kernels whose rounding error grows with the size of the sums rather than of each element.
inline ::testing::AssertionResult close_to_scale(const Tensor& a, const Tensor& b, double rel) {
  if (a.shape() != b.shape())
    return ::testing::AssertionFailure() << "shapes differ: " << a.desc() << " vs " << b.desc();
  const std::vector<double> va = a.to_vector(), vb = b.to_vector();
  double scale = 1.0, worst = 0.0;
  size_t at = 0;
  for (size_t i = 0; i < vb.size(); ++i) scale = std::max(scale, std::abs(vb[i]));
  for (size_t i = 0; i < va.size(); ++i) {
    const double err = std::abs(va[i] - vb[i]);
    if (!(err <= worst)) {  // NaN counts as worst
      worst = err;
      at = i;
    }
  }
  if (worst <= rel * scale) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "max error " << worst << " at flat index " << at << " (" << va[at] << " vs "
                                       << vb[at] << ") exceeds " << rel << " x scale " << scale;
}

// Runs fn and expects an exception of type E whose message contains `fragment`.
template <class E = Error, class Fn>
void expect_error(Fn&& fn, const std::string& fragment) {
  try {
    fn();
    ADD_FAILURE() << "expected an error containing: " << fragment;
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

}  // namespace linea::testing
