#include "core/allocator.h"

#include <cstdlib>
#include <memory>

#include "core/error.h"
#ifdef LINEA_WITH_CUDA
#include "core/cuda/runtime.h"
#endif

namespace linea {

CachingAllocator::CachingAllocator(RawAlloc raw_alloc, RawFree raw_free, int device)
    : raw_alloc_(raw_alloc), raw_free_(raw_free), device_(device) {}

CachingAllocator::~CachingAllocator() { empty_cache(); }

size_t CachingAllocator::round_size(size_t bytes) {
  if (bytes == 0) bytes = 1;
  constexpr size_t kSmall = 1 << 20;
  if (bytes < kSmall) return (bytes + 511) / 512 * 512;
  size_t pow2 = kSmall;
  while (pow2 < bytes) pow2 <<= 1;
  size_t step = pow2 / 8;
  return (bytes + step - 1) / step * step;
}

void* CachingAllocator::allocate(size_t bytes) {
  size_t size = round_size(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  void* ptr = nullptr;
  auto it = free_blocks_.find(size);
  if (it != free_blocks_.end() && !it->second.empty()) {
    ptr = it->second.back();
    it->second.pop_back();
  } else {
    ptr = raw_alloc_(size, device_);
    if (!ptr) {
      // Give cached blocks back and try once more before failing.
      for (auto& [s, blocks] : free_blocks_)
        for (void* p : blocks) { raw_free_(p, device_); stats_.reserved_bytes -= s; }
      free_blocks_.clear();
      ptr = raw_alloc_(size, device_);
    }
    if (!ptr)
      throw Error(str_cat("out of memory: allocating ", size, " bytes failed (", stats_.current_bytes,
                          " bytes in use by tensors)"));
    stats_.reserved_bytes += size;
    stats_.system_allocs += 1;
  }
  live_[ptr] = size;
  stats_.current_bytes += size;
  if (stats_.current_bytes > stats_.peak_bytes) stats_.peak_bytes = stats_.current_bytes;
  return ptr;
}

void CachingAllocator::deallocate(void* ptr) {
  if (!ptr) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(ptr);
  LINEA_ASSERT(it != live_.end(), "deallocate of a pointer this allocator does not own");
  stats_.current_bytes -= it->second;
  free_blocks_[it->second].push_back(ptr);
  live_.erase(it);
}

MemoryStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.peak_bytes = stats_.current_bytes;
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [size, blocks] : free_blocks_)
    for (void* p : blocks) {
      raw_free_(p, device_);
      stats_.reserved_bytes -= size;
    }
  free_blocks_.clear();
}

namespace {
void* cpu_raw_alloc(size_t bytes, int) { return std::aligned_alloc(64, bytes); }  // bytes is a multiple of 512
void cpu_raw_free(void* p, int) { std::free(p); }
}  // namespace

CachingAllocator& allocator_for(Device d) {
  LINEA_CHECK(!d.is_meta(), "the meta device allocates nothing (its tensors have no data)");
  if (d.is_cpu()) {
    static CachingAllocator* cpu = new CachingAllocator(cpu_raw_alloc, cpu_raw_free, 0);  // lives for the process
    return *cpu;
  }
#ifdef LINEA_WITH_CUDA
  return cuda::device_allocator(d.index);
#else
  throw Error(str_cat("device ", d.str(), " requested but linea was built without CUDA (configure with LINEA_CUDA=ON)"));
#endif
}

MemoryStats memory_stats(Device d) { return allocator_for(d).stats(); }
void reset_peak_memory(Device d) { allocator_for(d).reset_peak(); }

}  // namespace linea
