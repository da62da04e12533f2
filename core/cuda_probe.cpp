#include "core/cuda_probe.h"

#include "core/error.h"
#ifdef LINEA_WITH_CUDA
#include "core/cuda/runtime.h"
#endif

namespace linea {

namespace {

// cudaError_t values the probe distinguishes (stable ABI numbers; runtime.cu asserts them).
constexpr int kInsufficientDriver = 35;
constexpr int kNoDevice = 100;

std::string version_str(int v) { return str_cat(v / 1000, ".", v % 1000 / 10); }

}  // namespace

CudaProblem cuda_problem(const CudaProbe& p) {
  if (!p.built) return CudaProblem::not_built;
  if (p.status == 0) return p.devices > 0 ? CudaProblem::none : CudaProblem::no_device;
  if (p.driver_version == 0) return CudaProblem::no_driver;
  if (p.status == kInsufficientDriver) return CudaProblem::driver_too_old;
  if (p.status == kNoDevice) return CudaProblem::no_device;
  return CudaProblem::other;
}

std::string cuda_probe_summary(const CudaProbe& p) {
  const CudaProblem problem = cuda_problem(p);
  if (problem == CudaProblem::not_built) return "CUDA not built, 0 GPU(s) visible";
  const std::string runtime = version_str(p.runtime_version);
  const std::string head = str_cat("CUDA runtime ", runtime, ", ",
                                   p.driver_version == 0 ? "no driver" : "driver " + version_str(p.driver_version),
                                   ", ", p.devices, " GPU(s) visible");
  switch (problem) {
    case CudaProblem::none:
    case CudaProblem::not_built: return head;
    case CudaProblem::no_driver:
      return str_cat(head, ": no NVIDIA driver is installed (libcuda.so.1 not found); install one that supports CUDA ",
                     runtime, " or newer");
    case CudaProblem::driver_too_old:
      return str_cat(head, ": the NVIDIA driver supports CUDA up to ", version_str(p.driver_version),
                     ", older than the CUDA ", runtime,
                     " runtime linea was built with; install a newer driver or build linea with a CUDA toolkit "
                     "the driver supports");
    case CudaProblem::no_device:
      return str_cat(head, ": the driver found no CUDA GPU (check nvidia-smi and CUDA_VISIBLE_DEVICES)");
    case CudaProblem::other: return str_cat(head, ": cudaGetDeviceCount failed: ", p.status_text);
  }
  return head;
}

const CudaProbe& cuda_probe() {
#ifdef LINEA_WITH_CUDA
  static const CudaProbe probe = cuda::probe();
#else
  static const CudaProbe probe;
#endif
  return probe;
}

}  // namespace linea
