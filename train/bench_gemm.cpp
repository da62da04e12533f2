// bench_gemm: times the GEMMs (train/gemm_timing.h) and prints GFLOP/s = 2 M N K / time.
#include "train/bench_gemm.h"

#include <cstdio>
#include <vector>

#include "train/gemm_timing.h"

namespace linea {
namespace {

struct BenchShape {
  GemmShape shape;
  const char* what;  // the layer it stands for
};

// B*T = 2048 tokens.
const BenchShape kShapes[] = {
    {{2048, 256, 256, true}, "d=256 attn proj"},     {{2048, 1024, 256, true}, "d=256 mlp up"},
    {{2048, 256, 1024, true}, "d=256 mlp down"},     {{2048, 768, 768, true}, "d=768 attn proj"},
    {{2048, 2304, 768, true}, "d=768 qkv"},          {{2048, 3072, 768, true}, "d=768 mlp up"},
    {{2048, 768, 3072, true}, "d=768 mlp down"},     {{2048, 1024, 1024, true}, "d=1024 attn proj"},
    {{2048, 4096, 1024, true}, "d=1024 mlp up"},     {{2048, 1024, 4096, true}, "d=1024 mlp down"},
    {{1024, 1024, 1024, false}, "square 1024^3"},    {{2048, 2048, 2048, false}, "square 2048^3"},
};

}  // namespace

void bench_gemm(Device device, bool quick) {
  std::vector<DType> dtypes = {DType::f32};
  if (device.is_cuda()) dtypes.push_back(DType::bf16);
  for (DType dtype : dtypes) {
    double gflops_1024 = 0.0, gflops_2048 = 0.0;
    for (const auto& [s, what] : kShapes) {
      const double t = time_gemm(s, dtype, device, quick);
      const double gflops = 2.0 * double(s.M) * double(s.N) * double(s.K) / t * 1e-9;
      if (s.M == 1024 && s.N == 1024 && s.K == 1024) gflops_1024 = gflops;
      if (s.M == 2048 && s.N == 2048 && s.K == 2048) gflops_2048 = gflops;
      std::printf("gemm %-7s %-4s %5lld x %5lld x %5lld %s  %-17s %9.3f ms %9.1f GFLOP/s\n", device.str().c_str(),
                  dtype_name(dtype), (long long)s.M, (long long)s.N, (long long)s.K, s.trans_b ? "NT" : "NN", what,
                  t * 1e3, gflops);
    }
    std::printf("gemm %-7s %-4s ratio 1024^3 / 2048^3 GFLOP/s: %.3f\n", device.str().c_str(), dtype_name(dtype),
                gflops_1024 / gflops_2048);
  }
}

}  // namespace linea
