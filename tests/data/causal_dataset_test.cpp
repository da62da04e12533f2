// PackedCausalDataset: window i is tokens [i*T, i*T + T + 1) split into inputs and
// targets, across shard boundaries; the count of windows and out-of-range indices;
// document-boundary loss masking.
#include "data/causal_dataset.h"

#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "shard_writer.h"
#include "support/temp_dir.h"
#include "support/testing.h"

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

TEST(PackedCausalDataset, DocumentBoundaryMaskingIgnoresTargetsThatStartADocument) {
  TempDir dir;
  // Documents (eos 1 appended) of 3, 6, 2, 10 and 4 tokens: starts at 0, 3, 9, 11, 21; shards of 5.
  const std::vector<std::vector<double>> docs = {
      {10, 11, 1}, {20, 21, 22, 23, 24, 1}, {30, 1}, {40, 41, 42, 43, 44, 45, 46, 47, 48, 1}, {50, 51, 52, 1}};
  linea::testing::write_document_shards(dir.path(), docs, 5, 1000, true);
  const int64_t T = 4;
  PackedCausalDataset plain(TokenShards(dir.path()), T);
  PackedCausalDataset masked(TokenShards(dir.path()), T, true);
  EXPECT_FALSE(plain.mask_document_boundaries());
  EXPECT_TRUE(masked.mask_document_boundaries());
  ASSERT_EQ(masked.num_examples(), 6);  // (25 - 1) / 4
  const std::set<int64_t> starts = {3, 9, 11, 21};
  std::vector<int64_t> all = {0, 1, 2, 3, 4, 5};
  CausalBatch a = plain.get_batch(all), b = masked.get_batch(all);
  EXPECT_EQ(a.inputs.to_vector(), b.inputs.to_vector());
  int64_t ignored = 0;
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t t = 0; t < T; ++t) {
      const int64_t target_pos = i * T + t + 1;
      const double plain_target = a.targets.at({i, t}), masked_target = b.targets.at({i, t});
      if (starts.count(target_pos)) {
        EXPECT_EQ(masked_target, -100.0) << "window " << i << " position " << t;
        ++ignored;
      } else {
        EXPECT_EQ(masked_target, plain_target) << "window " << i << " position " << t;
      }
    }
  EXPECT_EQ(ignored, 4);
  // Window 2 = tokens [8, 13): inputs 1 30 1 40, targets 30 1 40 41 with 30 (pos 9) and 40 (pos 11) ignored.
  EXPECT_EQ(masked.get_batch({2}).inputs.to_vector(), (std::vector<double>{1, 30, 1, 40}));
  EXPECT_EQ(masked.get_batch({2}).targets.to_vector(), (std::vector<double>{-100, 1, -100, 41}));
  // Without /doc_offsets there is nothing to mask by: refused, naming the shard.
  TempDir bare;
  linea::testing::write_counting_shards(bare.path(), {20}, 1000);
  linea::testing::expect_error<DataError>([&] { PackedCausalDataset(TokenShards(bare.path()), 4, true); },
                                          bare.file("shard_00000.h5") + ": no /doc_offsets");
}
