// The caching allocator reuses freed blocks and reports current and peak bytes.
#include <gtest/gtest.h>

#include "core/allocator.h"
#include "core/tensor.h"

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
