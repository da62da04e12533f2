#include "core/cuda/runtime.h"

#include <memory>
#include <mutex>
#include <vector>

#include "core/allocator.h"
#include "core/cuda/check.cuh"

namespace linea::cuda {

int device_count() {
  static int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();  // clear the sticky "no driver" error
      return 0;
    }
    return n;
  }();
  return count;
}

void require_device(int index) {
  int n = device_count();
  if (index < 0 || index >= n)
    throw Error(str_cat("device cuda:", index, " requested but ", n == 0 ? "no CUDA GPU or driver is present" : str_cat("only ", n, " CUDA device(s) exist")));
  LINEA_CUDA_CHECK(cudaSetDevice(index));
}

namespace {
void* raw_alloc(size_t bytes, int device) {
  LINEA_CUDA_CHECK(cudaSetDevice(device));
  void* p = nullptr;
  if (cudaMalloc(&p, bytes) != cudaSuccess) {
    cudaGetLastError();
    return nullptr;
  }
  return p;
}
void raw_free(void* p, int device) {
  cudaSetDevice(device);
  cudaFree(p);
}
}  // namespace

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
