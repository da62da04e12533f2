// Host-side entry points of the CUDA backend that plain C++ files may call: device
// probing, the per-device caching allocator and copies. No CUDA headers here.
#pragma once
#include <cstddef>

namespace linea {
class CachingAllocator;
namespace cuda {

// Number of usable devices; 0 (never an exception) when the driver or GPU is missing.
int device_count();
// Throws a clear error when device `index` is not usable.
void require_device(int index);
CachingAllocator& device_allocator(int index);

enum class CopyKind { host_to_device, device_to_host, device_to_device };
// Synchronous copy on the device's stream.
void memcpy(void* dst, const void* src, size_t bytes, CopyKind kind, int device);
void memset_zero(void* dst, size_t bytes, int device);
void synchronize(int device);

}  // namespace cuda
}  // namespace linea
