// The CUDA caching allocator under real memory pressure (skipped without a GPU): when
// cudaMalloc runs out, the cached blocks are given back and the allocation retried, and
// only a request that still does not fit is reported, as out of memory.
#include <gtest/gtest.h>

#include "core/allocator.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

TEST(CudaAllocator, OutOfMemoryGivesBackTheCacheRetriesThenReports) {
  LINEA_REQUIRE_GPU();
  const Device gpu = Device::cuda(0);
  CachingAllocator& alloc = allocator_for(gpu);
  alloc.empty_cache();
  const int64_t gib = int64_t(1) << 28;  // f32 elements in 1 GiB
  std::vector<Tensor> blocks;
  try {
    for (;;) blocks.push_back(Tensor::empty({gib}, DType::f32, gpu));
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("out of memory"), std::string::npos) << m;
    EXPECT_EQ(m.find("sticky"), std::string::npos) << m;
  }
  ASSERT_GE(blocks.size(), 2u) << "the device should hold two 1 GiB blocks";
  const size_t reserved = memory_stats(gpu).reserved_bytes;
  blocks.clear();  // cached, still reserved: the device stays full
  EXPECT_EQ(memory_stats(gpu).reserved_bytes, reserved);
  // A size class the cache does not hold fits only once the cached blocks are given back.
  Tensor big = Tensor::empty({gib * 3 / 2}, DType::f32, gpu);
  EXPECT_LT(memory_stats(gpu).reserved_bytes, reserved);
  big = Tensor();
  alloc.empty_cache();
}
