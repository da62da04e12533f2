// Caching allocators for CPU (64-byte aligned) and CUDA memory. Freed blocks go to a
// size-class free list and are reused, so a training step allocates nothing new after
// step 1. Both report current (in use by tensors), peak and reserved bytes.
#pragma once
#include <cstddef>
#include <map>
#include <mutex>
#include <vector>

#include "core/device.h"

namespace linea {

struct MemoryStats {
  size_t current_bytes = 0;   // held by live tensors (rounded block sizes)
  size_t peak_bytes = 0;      // high-water mark of current_bytes
  size_t reserved_bytes = 0;  // obtained from the system, in use or cached
  size_t system_allocs = 0;   // calls to the underlying malloc/cudaMalloc
};

class CachingAllocator {
 public:
  using RawAlloc = void* (*)(size_t bytes, int device);
  using RawFree = void (*)(void* ptr, int device);

  CachingAllocator(RawAlloc raw_alloc, RawFree raw_free, int device);
  ~CachingAllocator();
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // Returns a block of at least `bytes` (never null; bytes == 0 gives a 64-byte block).
  void* allocate(size_t bytes);
  void deallocate(void* ptr);
  MemoryStats stats() const;
  void reset_peak();
  // Returns every cached block to the system.
  void empty_cache();

  // Block sizes: multiples of 512 bytes below 1 MiB, then multiples of 1/8 of the next
  // power of two, so reuse wastes at most ~12% without fragmenting into exact sizes.
  static size_t round_size(size_t bytes);

 private:
  RawAlloc raw_alloc_;
  RawFree raw_free_;
  int device_;
  mutable std::mutex mu_;
  std::map<size_t, std::vector<void*>> free_blocks_;  // size -> cached blocks
  std::map<void*, size_t> live_;                       // block -> size
  MemoryStats stats_;
};

// The allocator serving a device (created on first use).
CachingAllocator& allocator_for(Device d);
MemoryStats memory_stats(Device d);
void reset_peak_memory(Device d);

}  // namespace linea
