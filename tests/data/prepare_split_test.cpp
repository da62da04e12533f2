// prepare_shards throughput options and the document split on real text: the shards are
// byte-identical for any thread count, and the train/validation split by document hash is
// deterministic, disjoint, covers every document and holds about the requested fraction.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "core/error.h"
#include "core/io/hdf5_file.h"
#include "data/prepare.h"
#include "data/token_shards.h"
#include "support/kjv_text.h"
#include "support/testing.h"

using namespace linea;
using linea::testing::expect_error;
using linea::testing::KjvCorpus;
using linea::testing::TempDir;
using linea::testing::write_file;

namespace {

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// One document per verse of `range`, as a text file.
std::vector<std::string> write_verse_docs(const std::string& path, const std::string& range) {
  std::vector<std::string> docs;
  std::istringstream in(linea::testing::bible_text(range));
  std::string line, text;
  while (std::getline(in, line))
    if (!line.empty()) {
      docs.push_back(line);
      text += line + "\n\n";
    }
  write_file(path, text);
  return docs;
}

PrepareOptions options_for(const std::vector<std::string>& inputs, const std::string& out) {
  PrepareOptions o;
  o.tokenizer_model = KjvCorpus::get().model_path;
  o.input_files = inputs;
  o.output_dir = out;
  o.shard_tokens = 20000;
  return o;
}

// The documents of a shard folder, each as its tokens (eos included).
std::vector<std::vector<double>> documents(const std::vector<std::string>& shard_paths) {
  std::vector<std::vector<double>> docs;
  for (const std::string& path : shard_paths) {
    H5File f = H5File::open_read(path, H5Errors::data);
    const std::vector<double> tokens = f.read_tensor("/tokens").to_vector();
    const std::vector<double> offsets = f.read_tensor("/doc_offsets").to_vector();
    for (size_t i = 0; i + 1 < offsets.size(); ++i) {
      std::vector<double> piece(tokens.begin() + ptrdiff_t(offsets[i]), tokens.begin() + ptrdiff_t(offsets[i + 1]));
      const bool continued = i == 0 && f.int_attr("/", "first_document_continued") == 1;
      if (continued) docs.back().insert(docs.back().end(), piece.begin(), piece.end());
      else docs.push_back(piece);
    }
  }
  return docs;
}

}  // namespace

TEST(PrepareThreads, ShardsAreByteIdenticalForAnyThreadCount) {
  TempDir dir;
  // Genesis 25 times (about 5 MB, so more than one batch of documents) and then Exodus.
  const std::vector<std::string> genesis = write_verse_docs(dir.file("genesis.txt"), "Ge1:1-Ge50:26");
  const std::string once = read_bytes(dir.file("genesis.txt"));
  std::string repeated;
  for (int i = 0; i < 25; ++i) repeated += once;
  write_file(dir.file("genesis.txt"), repeated);
  write_verse_docs(dir.file("exodus.txt"), "Ex1:1-Ex40:38");
  std::vector<std::string> reference;
  for (int threads : {1, 2, 0}) {
    PrepareOptions o = options_for({dir.file("genesis.txt"), dir.file("exodus.txt")},
                                   dir.file("out" + std::to_string(threads)));
    o.shard_tokens = 1'000'000;
    o.threads = threads;
    PrepareSummary s = prepare_shards(o);
    EXPECT_EQ(s.num_documents, 25 * int64_t(genesis.size()) + 1213);
    ASSERT_GT(s.shard_paths.size(), 2u);
    std::vector<std::string> bytes;
    for (const std::string& p : s.shard_paths) bytes.push_back(read_bytes(p));
    if (reference.empty()) reference = bytes;
    else EXPECT_TRUE(bytes == reference) << threads << " threads wrote other shards than 1 thread";
  }
}

TEST(PrepareSplit, DocumentsSplitByHashDeterministicallyDisjointAndComplete) {
  TempDir dir;
  const std::vector<std::string> verses = write_verse_docs(dir.file("genesis.txt"), "Ge1:1-Ge50:26");
  ASSERT_EQ(verses.size(), 1533u);
  PrepareSummary all = prepare_shards(options_for({dir.file("genesis.txt")}, dir.file("all")));
  const std::vector<std::vector<double>> all_docs = documents(all.shard_paths);
  ASSERT_EQ(all_docs.size(), verses.size());

  auto split = [&](const std::string& name, uint64_t seed, int threads) {
    PrepareOptions o = options_for({dir.file("genesis.txt")}, dir.file(name + "_train"));
    o.valid_fraction = 0.2;
    o.valid_output_dir = dir.file(name + "_valid");
    o.split_seed = seed;
    o.threads = threads;
    return prepare_shards(o);
  };
  PrepareSummary a = split("a", 7, 1);
  EXPECT_EQ(a.num_documents + a.valid_num_documents, 1533);
  EXPECT_EQ(a.num_tokens + a.valid_num_tokens, all.num_tokens);
  EXPECT_NEAR(double(a.valid_num_documents) / 1533.0, 0.2, 0.03);  // binomial sd ~0.01
  EXPECT_EQ(TokenShards(dir.file("a_valid")).total_tokens(), a.valid_num_tokens);
  EXPECT_EQ(a.doc_tokens_max, all.doc_tokens_max);  // percentiles are over both splits
  EXPECT_EQ(a.doc_tokens_p50, all.doc_tokens_p50);

  // Every document lands in exactly one split, each split keeping the reading order: the two
  // merge back into the unsplit sequence.
  const std::vector<std::vector<double>> train = documents(a.shard_paths), valid = documents(a.valid_shard_paths);
  ASSERT_EQ(train.size() + valid.size(), all_docs.size());
  size_t t = 0, v = 0;
  for (const std::vector<double>& doc : all_docs) {
    if (t < train.size() && train[t] == doc) ++t;
    else if (v < valid.size() && valid[v] == doc) ++v;
    else FAIL() << "document " << t + v << " is in neither split";
  }

  // The same seed gives the same split (with any thread count); another seed another split.
  PrepareSummary b = split("b", 7, 2);
  ASSERT_EQ(b.valid_shard_paths.size(), a.valid_shard_paths.size());
  for (size_t i = 0; i < a.valid_shard_paths.size(); ++i)
    EXPECT_EQ(read_bytes(b.valid_shard_paths[i]), read_bytes(a.valid_shard_paths[i]));
  for (size_t i = 0; i < a.shard_paths.size(); ++i)
    EXPECT_EQ(read_bytes(b.shard_paths[i]), read_bytes(a.shard_paths[i]));
  PrepareSummary c = split("c", 8, 2);
  EXPECT_NE(documents(c.valid_shard_paths), valid);
  EXPECT_NEAR(double(c.valid_num_documents) / 1533.0, 0.2, 0.03);
}

TEST(PrepareSplit, BadSplitOptionsAreRefused) {
  TempDir dir;
  write_verse_docs(dir.file("jonah.txt"), "Jonah1:1-Jonah1:3");
  PrepareOptions o = options_for({dir.file("jonah.txt")}, dir.file("train"));
  o.valid_fraction = 0.5;
  expect_error<DataError>([&] { prepare_shards(o); }, "a valid fraction > 0 and a valid output folder go together");
  o.valid_output_dir = dir.file("train");
  expect_error<DataError>([&] { prepare_shards(o); }, "is the output folder, expected another");
  o.valid_fraction = 1.0;
  o.valid_output_dir = dir.file("valid");
  expect_error<DataError>([&] { prepare_shards(o); }, "valid fraction 1, expected in [0, 1)");
  o.valid_fraction = 0.5;
  o.threads = -1;
  expect_error<DataError>([&] { prepare_shards(o); }, "threads -1, expected >= 0");
  // Three documents and a tiny fraction: the validation split would be empty.
  o.threads = 0;
  o.valid_fraction = 1e-9;
  expect_error<DataError>([&] { prepare_shards(o); }, "put 0 of 3 documents in the validation split");
  EXPECT_FALSE(std::filesystem::exists(o.output_dir));
  EXPECT_FALSE(std::filesystem::exists(o.valid_output_dir));
}
