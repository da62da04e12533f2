// plan_buckets and owned_runs: parameters packed last to first under the byte limit,
// split by dtype, padded to the world size; under ZeRO-1 the ranks' runs cover every
// element of every parameter exactly once.
#include <gtest/gtest.h>

#include <map>

#include "train/gradient_buckets.h"

using namespace linea;

TEST(GradientBuckets, FillsLastToFirstUnderTheByteLimit) {
  // f32 parameters of 10, 20, 30 and 5 elements with 160-byte (40-element) buckets.
  const auto buckets = plan_buckets({{10, DType::f32}, {20, DType::f32}, {30, DType::f32}, {5, DType::bf16}},
                                    160.0, 1);
  // Last to first: 5 + 30 = 35 elements fit 40; 20 does not join them, 10 joins the 20.
  ASSERT_EQ(buckets.size(), 2u);
  ASSERT_EQ(buckets[0].entries.size(), 2u);
  EXPECT_EQ(buckets[0].entries[0].param, 3u);
  EXPECT_EQ(buckets[0].entries[1].param, 2u);
  EXPECT_EQ(buckets[0].entries[1].offset, 5);
  EXPECT_EQ(buckets[0].numel, 35);
  ASSERT_EQ(buckets[1].entries.size(), 2u);
  EXPECT_EQ(buckets[1].entries[0].param, 1u);
  EXPECT_EQ(buckets[1].entries[1].param, 0u);
  EXPECT_EQ(buckets[1].entries[1].offset, 20);
  EXPECT_EQ(buckets[1].numel, 30);
  for (const auto& b : buckets) {
    EXPECT_EQ(b.dtype, DType::f32);  // bf16 gradients are averaged in f32
    EXPECT_EQ(b.padded, b.numel);
  }
}

TEST(GradientBuckets, OversizedParameterAndDtypeChangeStartNewBuckets) {
  const auto buckets = plan_buckets({{4, DType::f64}, {3, DType::f32}, {100, DType::f32}, {2, DType::f32}}, 64.0, 1);
  ASSERT_EQ(buckets.size(), 4u);
  EXPECT_EQ(buckets[0].numel, 2);    // param 3
  EXPECT_EQ(buckets[1].numel, 100);  // param 2 alone: larger than the limit
  EXPECT_EQ(buckets[2].numel, 3);    // param 1
  EXPECT_EQ(buckets[3].dtype, DType::f64);
  EXPECT_EQ(buckets[3].numel, 4);
  EXPECT_THROW(plan_buckets({{1, DType::f32}}, 0.0, 1), Error);
}

TEST(GradientBuckets, ShardsCoverEveryElementOnceForAnyWorldSize) {
  const std::vector<std::pair<int64_t, DType>> params{{7, DType::f32}, {13, DType::f32}, {1, DType::f32},
                                                      {29, DType::f32}, {3, DType::f64}};
  for (int world = 1; world <= 5; ++world) {
    const auto buckets = plan_buckets(params, 64.0, world);
    std::map<size_t, std::vector<int>> hits;
    for (size_t p = 0; p < params.size(); ++p) hits[p].assign(size_t(params[p].first), 0);
    for (int rank = 0; rank < world; ++rank) {
      for (const OwnedRun& r : owned_runs(buckets, rank, world)) {
        const BucketLayout& b = buckets[r.bucket];
        EXPECT_EQ(b.padded % world, 0);
        EXPECT_LE(r.shard_offset + r.length, b.padded / world);
        // The run sits where the rank's shard maps the parameter's elements.
        int64_t offset = -1;
        for (const BucketEntry& e : b.entries)
          if (e.param == r.param) offset = e.offset;
        EXPECT_EQ(rank * (b.padded / world) + r.shard_offset, offset + r.begin);
        for (int64_t k = 0; k < r.length; ++k) hits[r.param][size_t(r.begin + k)] += 1;
      }
    }
    for (const auto& [p, counts] : hits)
      for (size_t k = 0; k < counts.size(); ++k)
        ASSERT_EQ(counts[k], 1) << "world " << world << " param " << p << " element " << k;
  }
}
