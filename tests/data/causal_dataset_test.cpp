// PackedCausalDataset: window i is tokens [i*T, i*T + T + 1) split into inputs and
// targets, across shard boundaries; the count of windows and out-of-range indices.
#include "data/causal_dataset.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "shard_writer.h"
#include "support/temp_dir.h"

using namespace linea;
using linea::testing::TempDir;

TEST(PackedCausalDataset, WindowsAreShiftedPairsAcrossShards) {
  TempDir dir;
  linea::testing::write_counting_shards(dir.path(), {13, 9, 20}, 1000);  // tokens 0..41
  PackedCausalDataset data(TokenShards(dir.path()), 8);
  EXPECT_EQ(data.seq_len(), 8);
  EXPECT_EQ(data.num_examples(), 5);  // (42 - 1) / 8
  CausalBatch batch = data.get_batch({4, 0, 1, 1});
  ASSERT_EQ(batch.inputs.shape(), (Shape{4, 8}));
  ASSERT_EQ(batch.targets.shape(), (Shape{4, 8}));
  EXPECT_EQ(batch.inputs.dtype(), DType::i64);
  int64_t rows[4] = {4, 0, 1, 1};
  for (int64_t b = 0; b < 4; ++b)
    for (int64_t t = 0; t < 8; ++t) {
      EXPECT_EQ(batch.inputs.at({b, t}), double(rows[b] * 8 + t));
      EXPECT_EQ(batch.targets.at({b, t}), double(rows[b] * 8 + t + 1));
    }
  EXPECT_EQ(data.get_batch({}).inputs.shape(), (Shape{0, 8}));
}

TEST(PackedCausalDataset, BadIndicesAndTooShortStreamsAreDataErrors) {
  TempDir dir;
  linea::testing::write_counting_shards(dir.path(), {17}, 1000);
  PackedCausalDataset data(TokenShards(dir.path()), 8);
  EXPECT_EQ(data.num_examples(), 2);  // 17 tokens: exactly two windows of 9 sharing one token
  EXPECT_EQ(data.get_batch({1}).targets.at({0, 7}), 16.0);
  EXPECT_THROW(data.get_batch({2}), DataError);
  EXPECT_THROW(data.get_batch({-1}), DataError);
  try {
    PackedCausalDataset too_long(TokenShards(dir.path()), 17);
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("17 tokens are fewer than one window of seq_len + 1 = 18"), std::string::npos)
        << e.what();
  }
}
