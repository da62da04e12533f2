#include "train/bench_core.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>

#include "core/cpu/parallel.h"
#include "core/error.h"
#include "core/kernels/copy.h"
#include "core/kernels/cross_entropy.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/norm.h"
#include "core/kernels/softmax.h"
#include "core/rng.h"
#include "train/bench_gemm.h"
#ifdef LINEA_WITH_CUDA
#include "core/cuda/runtime.h"
#endif

namespace linea {
namespace {

void sync(Device d) {
#ifdef LINEA_WITH_CUDA
  if (d.is_cuda()) cuda::synchronize(d.index);
#else
  (void)d;
#endif
}

// Median seconds per call over `reps` timed calls after two warm-ups.
double time_median(Device d, int reps, const std::function<void()>& fn) {
  fn();
  fn();
  sync(d);
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    sync(d);
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// Memory-bound kernels: GB/s counting bytes read + written once, next to a copy of the
// same bytes (memcpy on CPU, device-to-device copy on CUDA).
void bench_memory(Device d, bool quick) {
  const int64_t N = quick ? 1024 : 4096, C = quick ? 1024 : 4096;
  const int reps = quick ? 5 : 20;
  Generator gen(1);
  Tensor x = rand_normal({N, C}, gen, DType::f32, d);
  Tensor y = rand_normal({N, C}, gen, DType::f32, d);
  Tensor w = Tensor::ones({C}, DType::f32, d), b = Tensor::zeros({C}, DType::f32, d);
  Tensor targets = Tensor::zeros({N}, DType::i64, d);
  Tensor out = Tensor::empty({N, C}, DType::f32, d);
  const double mat = double(N * C) * 4;  // bytes of one [N, C] f32 tensor

  double copy_s = time_median(d, reps, [&] {
    if (d.is_cpu()) {
      // One memcpy per thread, the same parallelism the kernels get.
      char* dst = static_cast<char*>(out.data_ptr());
      const char* src = static_cast<const char*>(x.data_ptr());
      cpu::parallel_for(int64_t(mat), 1 << 20, [=](int64_t b, int64_t e) { std::memcpy(dst + b, src + b, size_t(e - b)); });
    } else {
      kernels::copy(out, x);
    }
  });
  const double copy_gbs = 2 * mat / copy_s / 1e9;
  std::printf("%-28s %9.1f GB/s  (reference: read + write of %.0f MiB)\n", d.is_cpu() ? "memcpy (all threads)" : "device copy",
              copy_gbs, mat / (1 << 20));

  struct Case {
    const char* name;
    double bytes;
    std::function<void()> fn;
  };
  Tensor sm = kernels::softmax(x);
  Tensor lse, count;
  Tensor dloss = Tensor::ones({}, DType::f32, d);
  kernels::cross_entropy(x, targets, -100, &lse, &count);
  std::vector<Case> cases = {
      {"add [N,C]+[N,C]", 3 * mat, [&] { kernels::binary_fwd(BinaryOp::add, x, y); }},
      {"mul [N,C]*[C] (broadcast)", 2 * mat, [&] { kernels::binary_fwd(BinaryOp::mul, x, w); }},
      {"gelu_tanh", 2 * mat, [&] { kernels::unary_fwd(UnaryOp::gelu_tanh, x); }},
      {"softmax fwd", 2 * mat, [&] { kernels::softmax(x); }},
      {"softmax bwd", 3 * mat, [&] { kernels::softmax_bwd(sm, y); }},
      {"layer_norm fwd", 2 * mat, [&] { kernels::layer_norm(x, w, b, 1e-5); }},
      {"rms_norm fwd", 2 * mat, [&] { kernels::rms_norm(x, w, 1e-5); }},
      {"cross_entropy fwd", mat, [&] { kernels::cross_entropy(x, targets, -100); }},
      {"cross_entropy bwd", 2 * mat, [&] { kernels::cross_entropy_bwd(dloss, x, targets, lse, count, -100); }},
  };
  for (const Case& c : cases) {
    double s = time_median(d, reps, c.fn);
    double gbs = c.bytes / s / 1e9;
    std::printf("%-28s %9.1f GB/s  %5.0f%% of copy\n", c.name, gbs, 100 * gbs / copy_gbs);
  }
}

}  // namespace

int run_bench_core(const BenchCommand& cmd) {
  const bool quick = cmd.quick;
  std::vector<Device> devices = {Device::cpu()};
  if (cuda_available()) devices.push_back(Device::cuda(0));
  if (!cmd.device.empty()) devices = {device_from_name(cmd.device)};
  for (Device d : devices) {
    std::printf("== linea bench core on %s%s\n", d.str().c_str(), quick ? " (quick sizes)" : "");
    bench_gemm(d, quick);
    bench_memory(d, quick);
  }
  return 0;
}

}  // namespace linea
