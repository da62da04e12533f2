// TokenShards: reads spanning several shards (including empty ones), and every bad folder
// or shard a user can hand it, each with a message naming the file.
#include "data/token_shards.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "shard_writer.h"
#include "support/temp_dir.h"
#include "support/testing.h"

using namespace linea;
using linea::testing::TempDir;
using linea::testing::write_counting_shards;
using linea::testing::write_test_shard;

namespace {

std::vector<double> counting(int64_t start, int64_t count, int64_t vocab) {
  std::vector<double> v;
  for (int64_t i = start; i < start + count; ++i) v.push_back(double(i % vocab));
  return v;
}

}  // namespace

TEST(TokenShards, ReadsSpanShardBoundariesInNameOrder) {
  TempDir dir;
  write_counting_shards(dir.path(), {10, 0, 7, 25, 3}, 1000);
  std::ofstream(dir.file("notes.txt")) << "ignored";
  TokenShards shards(dir.path());
  EXPECT_EQ(shards.num_shards(), 5);
  EXPECT_EQ(shards.total_tokens(), 45);
  EXPECT_EQ(shards.vocab_size(), 1000);
  EXPECT_EQ(shards.tokenizer_sha256(), "abc");
  EXPECT_EQ(shards.shard_path(3), dir.file("shard_00003.h5"));
  for (int64_t start = 0; start <= 45; ++start)
    for (int64_t count : {0, 1, 4, 12, 30})
      if (start + count <= 45) {
        Tensor t = shards.read(start, count);
        EXPECT_EQ(t.dtype(), DType::i64);
        EXPECT_EQ(t.to_vector(), counting(start, count, 1000)) << start << " " << count;
      }
  linea::testing::expect_error<DataError>([&] { shards.read(40, 6); }, "token range [40, 46) is outside the 45 tokens");
}

TEST(TokenShards, TokenIdsBeyondTheVocabularyNameShardAndPosition) {
  TempDir dir;
  write_test_shard(dir.file("shard_00000.h5"), {1, 2, 3}, 50);
  write_test_shard(dir.file("shard_00001.h5"), {4, 5, 50, 6}, 50);
  TokenShards shards(dir.path());
  EXPECT_EQ(shards.read(0, 5).to_vector(), (std::vector<double>{1, 2, 3, 4, 5}));
  linea::testing::expect_error<DataError>([&] { shards.read(2, 4); },
                    dir.file("shard_00001.h5") + ": token id 50 at position 2 is beyond the vocabulary, expected < 50");
}

TEST(TokenShards, BadFoldersAndShardsGiveClearErrors) {
  TempDir dir;
  linea::testing::expect_error<DataError>([&] { TokenShards(dir.file("missing")); }, "token shard folder not found: " + dir.file("missing"));
  linea::testing::expect_error<DataError>([&] { TokenShards shards(dir.path()); }, "no token shards (shard_*.h5) in " + dir.path());

  std::ofstream(dir.file("shard_00000.h5")) << "plain text";
  linea::testing::expect_error<DataError>([&] { TokenShards shards(dir.path()); },
                    "not an HDF5 file or truncated: " + dir.file("shard_00000.h5"));

  {  // a foreign HDF5 file: a checkpoint-like file without the shard attributes
    H5File f = H5File::create(dir.file("shard_00000.h5"));
    f.write_tensor("/model/w", Tensor::zeros({2}));
  }
  linea::testing::expect_error<DataError>([&] { TokenShards shards(dir.path()); },
                    dir.file("shard_00000.h5") + ": not a linea token shard");

  write_test_shard(dir.file("shard_00000.h5"), {1, 2}, 50);
  {
    H5File f = H5File::create(dir.file("shard_00001.h5"), H5Errors::data);
    f.create_stream("/tokens", StreamElement::u16, 4);
    f.set_int_attr("/", "format_version", 99);
  }
  linea::testing::expect_error<DataError>([&] { TokenShards shards(dir.path()); }, "token shard format_version 99, expected 1");

  write_test_shard(dir.file("shard_00001.h5"), {1, 2}, 60);
  linea::testing::expect_error<DataError>([&] { TokenShards shards(dir.path()); },
                    dir.file("shard_00001.h5") + ": vocab_size/bos/eos/pad/unk 60/1/1/1/1 differ from");
  write_test_shard(dir.file("shard_00001.h5"), {1, 2}, 50, "other");
  linea::testing::expect_error<DataError>([&] { TokenShards shards(dir.path()); }, "tokenizer_sha256 other differs from");
}
