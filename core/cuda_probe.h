// What probing CUDA found, and how it reads. "No device" and "driver too old" are different
// problems with different fixes, and a GPU test run must be able to tell them apart from a
// machine that merely has no GPU. Plain C++ (the runtime's status is an int), so the wording
// of every outcome is tested without a GPU; core/cuda/runtime.cu does the probing.
#pragma once
#include <cstdint>
#include <string>

namespace linea {

struct CudaProbe {
  bool built = false;       // linea was built with the CUDA backend
  int status = 0;           // cudaGetDeviceCount's cudaError_t (0: success)
  std::string status_text;  // the runtime's name and description of a failed status
  int devices = 0;          // usable devices (0 unless status is 0)
  int driver_version = 0;   // newest CUDA the driver supports, 1000 major + 10 minor; 0: no driver
  int runtime_version = 0;  // the CUDA runtime linea was built with, same encoding
};

enum class CudaProblem : uint8_t { none, not_built, no_driver, driver_too_old, no_device, other };
CudaProblem cuda_problem(const CudaProbe& probe);

// One line: the runtime and driver versions, the device count and, when no device is
// usable, why and what to do about it.
std::string cuda_probe_summary(const CudaProbe& probe);

// This process's probe, made on first use (never throws; CPU-only builds report not built).
const CudaProbe& cuda_probe();

}  // namespace linea
