// Host-side entry points of the CUDA backend that plain C++ files may call: device
// probing, the per-device caching allocator, copies and error reporting. No CUDA headers here.
#pragma once
#include <cstddef>
#include <string>

#include "core/cuda_probe.h"

namespace linea {
class CachingAllocator;
namespace cuda {

// Asks the runtime and driver what is there; use linea::cuda_probe(), which keeps the answer.
CudaProbe probe();
// Throws a clear error (the probe's summary when no GPU is usable) when device `index` is not usable.
void require_device(int index);
CachingAllocator& device_allocator(int index);

enum class CopyKind { host_to_device, device_to_host, device_to_device };
// Synchronous copy on the device's stream.
void memcpy(void* dst, const void* src, size_t bytes, CopyKind kind, int device);
void memset_zero(void* dst, size_t bytes, int device);
void synchronize(int device);

// LINEA_CUDA_DEBUG=1 (anything but empty or 0): kernels launch blocking
// (CUDA_LAUNCH_BLOCKING=1) and every launch check waits for its kernel, so a fault is
// reported at the kernel that caused it instead of at a later call. Slow; for finding faults.
bool debug_checks();
// The message for CUDA error `error` (a cudaError_t) returned to `what` (the call and
// where it was made). Sticky errors (a kernel faulted; the context is lost and every later
// call fails the same way) say so, since the call named is then rarely the culprit.
std::string error_message(int error, const std::string& what);
// Throws the error of the kernel just launched at file:line, if any; with debug_checks()
// it first waits for the kernel to finish.
void check_launch(const char* file, int line);

}  // namespace cuda
}  // namespace linea
