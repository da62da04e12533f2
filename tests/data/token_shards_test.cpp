// TokenShards: reads spanning several shards (including empty ones), and every bad folder
// or shard a user can hand it, each with a message naming the file.
#include "data/token_shards.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "data/prepare.h"
#include "data/tokenizer.h"
#include "shard_writer.h"
#include "support/file_damage.h"
#include "support/kjv_text.h"
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

TEST(TokenShards, DamagedTokensFailTheReadsOfTheirBlock) {
  TempDir dir;
  write_counting_shards(dir.path(), {40, 40}, 1000);  // uint32 streams in blocks of 16
  // Token 65 is element 25 of the second shard, in its block [16, 32).
  const std::string second = dir.file("shard_00001.h5");
  const uint32_t run[3] = {64, 65, 66};
  linea::testing::flip_bytes(second, linea::testing::offset_of(second, run, sizeof run) + 4);
  TokenShards shards(dir.path());
  EXPECT_EQ(shards.read(30, 26).to_vector(), counting(30, 26, 1000));  // up to element 15 of the second
  try {
    shards.read(50, 10);
    ADD_FAILURE() << "expected a DataError";
  } catch (const DataError& e) {
    EXPECT_EQ(std::string(e.what()).find(second + ": /tokens: damaged data: elements [16, 32) have xxh64 "), 0u)
        << e.what();
  }
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

TEST(TokenShards, DocumentsSpanShardsAndTileTheStream) {
  TempDir dir;
  // Documents of 3, 9 (across two shard cuts), 1, 4 and 5 tokens in shards of 4.
  std::vector<std::vector<double>> docs = {
      {10, 11, 1}, {20, 21, 22, 23, 24, 25, 26, 27, 1}, {1}, {30, 31, 32, 1}, {40, 41, 42, 43, 1}};
  linea::testing::write_document_shards(dir.path(), docs, 4, 1000, true);
  TokenShards shards(dir.path());
  EXPECT_EQ(shards.num_shards(), 6);
  EXPECT_TRUE(shards.has_documents());
  EXPECT_TRUE(shards.append_eos());
  ASSERT_EQ(shards.num_documents(), 5);
  const std::vector<std::pair<int64_t, int64_t>> expected = {{0, 3}, {3, 12}, {12, 13}, {13, 17}, {17, 22}};
  for (int64_t d = 0; d < 5; ++d) {
    EXPECT_EQ(shards.document(d), expected[size_t(d)]) << d;
    const auto [start, end] = shards.document(d);
    EXPECT_EQ(shards.read(start, end - start).to_vector(), docs[size_t(d)]) << d;
    for (int64_t pos = start; pos < end; ++pos) EXPECT_EQ(shards.document_at(pos), d) << pos;
  }
  linea::testing::expect_error<DataError>([&] { shards.document(5); }, "document index 5 is outside the 5 documents in");
  linea::testing::expect_error<DataError>([&] { shards.document(-1); }, "document index -1 is outside");
  linea::testing::expect_error<DataError>([&] { shards.document_at(22); }, "token position 22 is outside the 22 tokens");
}

TEST(TokenShards, DocumentsOfPreparedShardsAreTheInputParagraphs) {
  // Three paragraphs of KJV text in shards of 50 tokens; each document is the paragraph's
  // ids plus eos, wherever the shard cuts fall.
  const linea::testing::KjvCorpus& corpus = linea::testing::KjvCorpus::get();
  TempDir dir;
  const std::vector<std::string> paragraphs = {"In the beginning God created the heaven and the earth.",
                                               "And the earth was without form, and void; and darkness was upon "
                                               "the face of the deep.\nAnd God said, Let there be light.",
                                               "Amen."};
  linea::testing::write_file(dir.file("in.txt"), paragraphs[0] + "\n\n" + paragraphs[1] + "\n\n\n" + paragraphs[2]);
  PrepareOptions o;
  o.tokenizer_model = corpus.model_path;
  o.input_files = {dir.file("in.txt")};
  o.output_dir = dir.file("shards");
  o.shard_tokens = 20;
  prepare_shards(o);
  Tokenizer tok = Tokenizer::load(corpus.model_path);
  TokenShards shards(o.output_dir);
  EXPECT_GT(shards.num_shards(), 3);
  EXPECT_EQ(shards.tokenizer_kind(), "sentencepiece");
  ASSERT_EQ(shards.num_documents(), 3);
  for (int64_t d = 0; d < 3; ++d) {
    std::vector<double> expected;
    for (int32_t id : tok.encode(paragraphs[size_t(d)])) expected.push_back(id);
    expected.push_back(tok.eos_id());
    const auto [start, end] = shards.document(d);
    EXPECT_EQ(shards.read(start, end - start).to_vector(), expected) << d;
  }
  EXPECT_EQ(shards.document(2).second, shards.total_tokens());
}

TEST(TokenShards, BadDocumentOffsetsNameTheShard) {
  TempDir dir;
  using linea::testing::TestShardDocs;
  // Hand-made shards without /doc_offsets read as a stream but have no documents.
  write_test_shard(dir.file("shard_00000.h5"), {5, 6, 7}, 50);
  {
    TokenShards shards(dir.path());
    EXPECT_FALSE(shards.has_documents());
    EXPECT_EQ(shards.read(0, 3).to_vector(), (std::vector<double>{5, 6, 7}));
    linea::testing::expect_error<DataError>([&] { shards.num_documents(); },
                                            dir.file("shard_00000.h5") + ": no /doc_offsets, so no document boundaries");
    linea::testing::expect_error<DataError>([&] { shards.document(0); }, "no /doc_offsets");
  }
  auto expect_open_error = [&](const TestShardDocs& docs, const std::string& needle) {
    write_test_shard(dir.file("shard_00000.h5"), {5, 6, 7}, 50, "abc", &docs);
    linea::testing::expect_error<DataError>([&] { TokenShards shards(dir.path()); },
                                            dir.file("shard_00000.h5") + ": " + needle);
  };
  expect_open_error({{0, 2}}, "/doc_offsets of 2 entries from 0 to 2, expected a 1-D list from 0 to the shard's 3 tokens");
  expect_open_error({{1, 3}}, "/doc_offsets of 2 entries from 1 to 3");
  expect_open_error({{3}}, "/doc_offsets of 1 entries");
  expect_open_error({{0, 2, 1, 3}}, "/doc_offsets decrease at entry 2 (2 then 1), expected ascending starts");
  expect_open_error({{0, 3}, true}, "first_document_continued is 1 in the first shard, expected 0");
  // Shards of one folder agree on append_eos.
  TestShardDocs with_eos{{0, 3}, false, true};
  write_test_shard(dir.file("shard_00000.h5"), {5, 6, 7}, 50, "abc", &with_eos);
  TestShardDocs no_eos{{0, 2}, false, false};
  write_test_shard(dir.file("shard_00001.h5"), {8, 9}, 50, "abc", &no_eos);
  linea::testing::expect_error<DataError>([&] { TokenShards shards(dir.path()); },
                                          dir.file("shard_00001.h5") + ": append_eos 0 differs from 1 in " +
                                              dir.file("shard_00000.h5"));
}
