#include "core/cuda/runtime.h"

#include <cstdlib>
#include <memory>
#include <mutex>
#include <vector>

#include "core/allocator.h"
#include "core/cuda/check.cuh"

namespace linea::cuda {

// core/cuda_probe.cpp and tests name these by number, without CUDA headers.
static_assert(cudaErrorInsufficientDriver == 35 && cudaErrorNoDevice == 100, "cudaError_t numbering changed");

bool debug_checks() {
  static const bool on = [] {
    const char* v = std::getenv("LINEA_CUDA_DEBUG");
    return v != nullptr && *v != '\0' && std::string(v) != "0";
  }();
  return on;
}

CudaProbe probe() {
  // The driver reads CUDA_LAUNCH_BLOCKING when it initializes, which the calls below do:
  // every other CUDA call of linea comes after a device was probed.
  if (debug_checks()) setenv("CUDA_LAUNCH_BLOCKING", "1", 1);
  CudaProbe p;
  p.built = true;
  cudaRuntimeGetVersion(&p.runtime_version);
  if (cudaDriverGetVersion(&p.driver_version) != cudaSuccess) p.driver_version = 0;
  const cudaError_t err = cudaGetDeviceCount(&p.devices);
  p.status = int(err);
  if (err != cudaSuccess) {
    p.devices = 0;
    p.status_text = str_cat(cudaGetErrorName(err), " (", cudaGetErrorString(err), ")");
    cudaGetLastError();  // not sticky: clear it so later calls do not report it
  }
  return p;
}

void require_device(int index) {
  const int n = cuda_device_count();
  if (index < 0 || index >= n)
    throw Error(str_cat("device cuda:", index, " requested but ",
                        n == 0 ? cuda_probe_summary(cuda_probe()) : str_cat("only ", n, " CUDA device(s) exist")));
  LINEA_CUDA_CHECK(cudaSetDevice(index));
}

namespace {

// The errors after which "the process must be terminated and relaunched" (driver_types.h).
bool is_sticky(cudaError_t e) {
  switch (e) {
    case cudaErrorContained:
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchTimeout:
    case cudaErrorAssert:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorLaunchFailure:
    case cudaErrorTensorMemoryLeak:
    case cudaErrorExternalDevice: return true;
    default: return false;
  }
}

void* raw_alloc(size_t bytes, int device) {
  LINEA_CUDA_CHECK(cudaSetDevice(device));
  void* p = nullptr;
  const cudaError_t err = cudaMalloc(&p, bytes);
  // Only a real out-of-memory may return null: the allocator then frees its cache and
  // retries. Anything else, above all a fault an earlier kernel left behind, is reported
  // as itself rather than as out-of-memory.
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    return nullptr;
  }
  if (err != cudaSuccess) throw Error(error_message(err, str_cat("cudaMalloc of ", bytes, " bytes on cuda:", device)));
  return p;
}

void raw_free(void* p, int device) {
  cudaSetDevice(device);
  cudaFree(p);
}

}  // namespace

std::string error_message(int error, const std::string& what) {
  const cudaError_t e = cudaError_t(error);
  std::string m = str_cat(what, ": ", cudaGetErrorString(e), " (", cudaGetErrorName(e), ")");
  if (is_sticky(e))
    m += str_cat("; a kernel faulted and the CUDA context is lost (a sticky error: every later CUDA call fails the "
                 "same way)",
                 debug_checks() ? "; with LINEA_CUDA_DEBUG=1 the first such report names the kernel"
                                : ", so the call named here is rarely the culprit; rerun with LINEA_CUDA_DEBUG=1 to "
                                  "stop at the kernel that faulted");
  return m;
}

void check_launch(const char* file, int line) {
  cudaError_t err = cudaGetLastError();
  if (err == cudaSuccess && debug_checks()) err = cudaStreamSynchronize(stream());
  if (err != cudaSuccess) throw Error(error_message(err, str_cat(file, ":", line, ": kernel launched here")));
}

CachingAllocator& device_allocator(int index) {
  require_device(index);
  static std::mutex mu;
  static std::vector<std::unique_ptr<CachingAllocator>>* allocators =
      new std::vector<std::unique_ptr<CachingAllocator>>();  // lives for the process
  std::lock_guard<std::mutex> lock(mu);
  if (allocators->size() <= size_t(index)) allocators->resize(index + 1);
  auto& a = (*allocators)[index];
  if (!a) a = std::make_unique<CachingAllocator>(raw_alloc, raw_free, index);
  return *a;
}

void memcpy(void* dst, const void* src, size_t bytes, CopyKind kind, int device) {
  if (bytes == 0) return;
  LINEA_CUDA_CHECK(cudaSetDevice(device));
  cudaMemcpyKind k = kind == CopyKind::host_to_device   ? cudaMemcpyHostToDevice
                     : kind == CopyKind::device_to_host ? cudaMemcpyDeviceToHost
                                                        : cudaMemcpyDeviceToDevice;
  LINEA_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, k, stream()));
  if (kind != CopyKind::device_to_device) LINEA_CUDA_CHECK(cudaStreamSynchronize(stream()));
}

void memset_zero(void* dst, size_t bytes, int device) {
  if (bytes == 0) return;
  LINEA_CUDA_CHECK(cudaSetDevice(device));
  LINEA_CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, stream()));
}

void synchronize(int device) {
  LINEA_CUDA_CHECK(cudaSetDevice(device));
  LINEA_CUDA_CHECK(cudaDeviceSynchronize());
}

}  // namespace linea::cuda
