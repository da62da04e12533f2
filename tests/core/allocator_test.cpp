// The caching allocator reuses freed blocks and reports current and peak bytes.
#include <gtest/gtest.h>

#include <cstdlib>

#include "core/allocator.h"
#include "core/tensor.h"
#include "support/testing.h"

using namespace linea;

TEST(Allocator, RoundsToSizeClasses) {
  EXPECT_EQ(CachingAllocator::round_size(1), 512u);
  EXPECT_EQ(CachingAllocator::round_size(513), 1024u);
  EXPECT_EQ(CachingAllocator::round_size((1 << 20) + 1), (1u << 20) + (1u << 18));  // 2 MiB / 8 steps
}

TEST(Allocator, SteadyStateAllocatesNothingNew) {
  CachingAllocator& a = allocator_for(Device::cpu());
  auto step = [] {
    Tensor x = Tensor::zeros({256, 256});
    Tensor y = x.clone();
    return y.numel();
  };
  step();
  size_t before = a.stats().system_allocs;
  for (int i = 0; i < 10; ++i) step();
  EXPECT_EQ(a.stats().system_allocs, before);
}

TEST(Allocator, TracksCurrentAndPeakBytes) {
  reset_peak_memory(Device::cpu());
  size_t base = memory_stats(Device::cpu()).current_bytes;
  {
    Tensor big = Tensor::empty({1 << 20});  // 4 MiB
    EXPECT_EQ(memory_stats(Device::cpu()).current_bytes, base + (4u << 20));
  }
  EXPECT_EQ(memory_stats(Device::cpu()).current_bytes, base);
  EXPECT_GE(memory_stats(Device::cpu()).peak_bytes, base + (4u << 20));
}

TEST(Allocator, PointersAre64ByteAligned) {
  for (int64_t n : {1, 3, 1000, 123457}) {
    Tensor t = Tensor::empty({n});
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data_ptr()) % 64, 0u);
  }
}

namespace {
// A device with room for two blocks, for the raw allocator's contract: null means out of
// memory (the caching allocator frees its cache and retries); an exception is any other
// failure (say a fault an earlier kernel left), which must reach the caller as itself.
struct FakeDevice {
  int room = 2;
  int frees = 0;
  bool faulted = false;
};
FakeDevice fake_device;
void* fake_alloc(size_t bytes, int) {
  if (fake_device.faulted) throw Error("cudaMalloc: an illegal memory access was encountered");
  if (fake_device.room == 0) return nullptr;
  --fake_device.room;
  return std::malloc(bytes);
}
void fake_free(void* p, int) {
  ++fake_device.room;
  ++fake_device.frees;
  std::free(p);
}
}  // namespace

TEST(Allocator, OutOfMemoryFreesTheCacheAndRetriesOtherFailuresPassThrough) {
  fake_device = FakeDevice{};
  CachingAllocator a(fake_alloc, fake_free, 0);
  void* x = a.allocate(1024);
  void* y = a.allocate(1024);
  a.deallocate(x);
  a.deallocate(y);
  void* big = a.allocate(4096);  // another size class: the device is full until the cache goes
  EXPECT_NE(big, nullptr);
  EXPECT_EQ(fake_device.frees, 2);
  a.deallocate(big);
  fake_device.faulted = true;
  try {
    a.allocate(8192);
    ADD_FAILURE() << "expected the fault";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "cudaMalloc: an illegal memory access was encountered");
  }
  EXPECT_EQ(fake_device.frees, 2) << "a fault must not empty the cache as if memory ran out";
  fake_device.faulted = false;
  a.empty_cache();
  fake_device.room = 0;
  linea::testing::expect_error([&] { a.allocate(512); }, "out of memory: allocating 512 bytes failed");
}
