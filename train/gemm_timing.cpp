// Times kernels::matmul with std::chrono: warm-up, then the median of several samples,
// each long enough for the clock.
#include "train/gemm_timing.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "core/kernels/matmul.h"
#include "core/rng.h"
#include "core/tensor.h"
#ifdef LINEA_WITH_CUDA
#include "core/cuda/runtime.h"
#endif

namespace linea {
namespace {

void sync(Device device) {
#ifdef LINEA_WITH_CUDA
  if (device.is_cuda()) cuda::synchronize(device.index);
#else
  (void)device;
#endif
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

double time_gemm(const GemmShape& s, DType dtype, Device device, bool quick) {
  Generator gen(1234);
  Tensor a = Tensor::empty({s.M, s.K}, DType::f32);
  Tensor b = s.trans_b ? Tensor::empty({s.N, s.K}, DType::f32) : Tensor::empty({s.K, s.N}, DType::f32);
  uniform_(a, gen, -1.0, 1.0);
  uniform_(b, gen, -1.0, 1.0);
  a = a.to(device, dtype);
  b = b.to(device, dtype);
  auto run = [&](int reps) {
    sync(device);
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) kernels::matmul(a, b, false, s.trans_b);
    sync(device);
    return seconds_since(t0);
  };
  run(1);  // warm-up: first-touch allocations, cuBLASLt handle, caches
  // Each sample repeats the GEMM for at least ~20 ms so clock and launch overheads vanish.
  const double once = run(1);
  const int reps = std::max(1, int(0.02 / std::max(once, 1e-7)));
  std::vector<double> samples;
  for (int i = 0; i < (quick ? 3 : 7); ++i) samples.push_back(run(reps) / reps);
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

double gemm_peak_flops(Device device, DType dtype) {
  const int64_t n = device.is_cuda() ? 8192 : 2048;
  return 2.0 * double(n) * double(n) * double(n) / time_gemm(GemmShape{n, n, n, false}, dtype, device, /*quick=*/true);
}

}  // namespace linea
