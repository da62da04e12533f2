// bench_gemm: times kernels::matmul with std::chrono (warm-up, then the median of several
// samples, each long enough for the clock) and prints GFLOP/s = 2 M N K / time.
#include "train/bench_gemm.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "core/kernels/matmul.h"
#include "core/rng.h"
#include "core/tensor.h"
#ifdef LINEA_WITH_CUDA
#include "core/cuda/runtime.h"
#endif

namespace linea {
namespace {

struct GemmShape {
  int64_t M, N, K;
  bool trans_b;      // weight stored [out, in] as linear uses it
  const char* what;  // the layer it stands for
};

// C [M, N] = A [M, K] B [K, N], B*T = 2048 tokens.
const GemmShape kShapes[] = {
    {2048, 256, 256, true, "d=256 attn proj"},     {2048, 1024, 256, true, "d=256 mlp up"},
    {2048, 256, 1024, true, "d=256 mlp down"},     {2048, 768, 768, true, "d=768 attn proj"},
    {2048, 2304, 768, true, "d=768 qkv"},          {2048, 3072, 768, true, "d=768 mlp up"},
    {2048, 768, 3072, true, "d=768 mlp down"},     {2048, 1024, 1024, true, "d=1024 attn proj"},
    {2048, 4096, 1024, true, "d=1024 mlp up"},     {2048, 1024, 4096, true, "d=1024 mlp down"},
    {1024, 1024, 1024, false, "square 1024^3"},    {2048, 2048, 2048, false, "square 2048^3"},
};

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

// Median seconds per GEMM.
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

}  // namespace

double gemm_peak_flops(Device device, DType dtype) {
  const int64_t n = device.is_cuda() ? 8192 : 2048;
  const GemmShape s{n, n, n, false, "peak"};
  return 2.0 * double(n) * double(n) * double(n) / time_gemm(s, dtype, device, /*quick=*/true);
}

void bench_gemm(Device device, bool quick) {
  std::vector<DType> dtypes = {DType::f32};
  if (device.is_cuda()) dtypes.push_back(DType::bf16);
  for (DType dtype : dtypes) {
    double gflops_1024 = 0.0, gflops_2048 = 0.0;
    for (const GemmShape& s : kShapes) {
      const double t = time_gemm(s, dtype, device, quick);
      const double gflops = 2.0 * double(s.M) * double(s.N) * double(s.K) / t * 1e-9;
      if (s.M == 1024 && s.N == 1024 && s.K == 1024) gflops_1024 = gflops;
      if (s.M == 2048 && s.N == 2048 && s.K == 2048) gflops_2048 = gflops;
      std::printf("gemm %-7s %-4s %5lld x %5lld x %5lld %s  %-17s %9.3f ms %9.1f GFLOP/s\n", device.str().c_str(),
                  dtype_name(dtype), (long long)s.M, (long long)s.N, (long long)s.K, s.trans_b ? "NT" : "NN", s.what,
                  t * 1e3, gflops);
    }
    std::printf("gemm %-7s %-4s ratio 1024^3 / 2048^3 GFLOP/s: %.3f\n", device.str().c_str(), dtype_name(dtype),
                gflops_1024 / gflops_2048);
  }
}

}  // namespace linea
