// prepare_shards on real text: shard layout and attributes, the token stream equals the
// tokenizer's output per paragraph, uint16/uint32 storage by vocabulary size, atomic
// replacement of older shards, bad inputs.
#include "data/prepare.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io/hdf5_file.h"
#include "data/sha256.h"
#include "data/token_shards.h"
#include "data/text_tokenizer.h"
#include "support/kjv_text.h"
#include "support/testing.h"
#include "support/tiny_bpe_vocab.h"

using namespace linea;
using linea::testing::KjvCorpus;
using linea::testing::paragraphs;
using linea::testing::TempDir;

TEST(Prepare, ShardsHoldTheTokenizersOutputWithDocumentOffsetsAndProvenance) {
  const KjvCorpus& corpus = KjvCorpus::get();
  TempDir dir;
  std::string ruth_path = dir.file("ruth.txt"), jonah_path = dir.file("jonah.txt");
  std::string ruth = linea::testing::bible_text("Ruth1:1-Ruth4:22");
  std::string jonah = linea::testing::bible_text("Jonah1:1-Jonah4:11");
  linea::testing::write_file(ruth_path, "\n\n" + ruth + "\n  \n");  // extra blank lines separate nothing
  linea::testing::write_file(jonah_path, jonah);

  Tokenizer tok = Tokenizer::load(corpus.model_path);
  std::vector<double> expected;
  std::vector<int64_t> doc_starts;
  for (const std::string& text : {ruth, jonah})
    for (const std::string& doc : paragraphs(text)) {
      doc_starts.push_back(int64_t(expected.size()));
      for (int32_t id : tok.encode(doc)) expected.push_back(id);
      expected.push_back(tok.eos_id());
    }
  ASSERT_EQ(doc_starts.size(), 8u);  // 4 chapters each

  PrepareOptions options{corpus.model_path, {ruth_path, jonah_path}, dir.file("shards"), 1000, true, {}, false};
  PrepareSummary summary = prepare_shards(options);
  EXPECT_EQ(summary.num_tokens, int64_t(expected.size()));
  EXPECT_EQ(summary.num_documents, 8);
  size_t num_shards = (expected.size() + 999) / 1000;
  ASSERT_EQ(summary.shard_paths.size(), num_shards);
  ASSERT_GE(num_shards, 3u);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(options.output_dir), {}), int64_t(num_shards));

  std::vector<double> all;
  for (size_t s = 0; s < num_shards; ++s) {
    H5File f = H5File::open_read(summary.shard_paths[s], H5Errors::data);
    EXPECT_EQ(summary.shard_paths[s], dir.file("shards/shard_0000" + std::to_string(s) + ".h5"));
    int64_t begin = int64_t(s) * 1000, len = f.length("/tokens");
    EXPECT_EQ(len, std::min<int64_t>(1000, int64_t(expected.size()) - begin));
    Tensor tokens = f.read_tensor("/tokens");
    EXPECT_EQ(tokens.dtype(), DType::i32);  // stored as uint16 (vocab 500)
    std::vector<double> v = tokens.to_vector();
    all.insert(all.end(), v.begin(), v.end());
    // Document pieces in this shard: a continuation at 0, the starts inside it, the end.
    std::vector<double> offsets;
    bool continued = std::find(doc_starts.begin(), doc_starts.end(), begin) == doc_starts.end();
    if (continued) offsets.push_back(0);
    for (int64_t d : doc_starts)
      if (d >= begin && d < begin + len) offsets.push_back(double(d - begin));
    offsets.push_back(double(len));
    EXPECT_EQ(f.read_tensor("/doc_offsets").to_vector(), offsets) << "shard " << s;
    EXPECT_EQ(f.int_attr("/", "first_document_continued"), continued ? 1 : 0);
    EXPECT_EQ(f.string_attr("/", "format"), "linea-token-shard");
    EXPECT_EQ(f.int_attr("/", "format_version"), kTokenShardFormatVersion);
    EXPECT_EQ(f.int_attr("/", "shard_index"), int64_t(s));
    EXPECT_EQ(f.int_attr("/", "vocab_size"), 500);
    EXPECT_EQ(f.int_attr("/", "eos_id"), 2);
    EXPECT_EQ(f.int_attr("/", "append_eos"), 1);
    EXPECT_EQ(f.string_attr("/", "tokenizer"), corpus.model_path);
    EXPECT_EQ(f.string_attr("/", "tokenizer_sha256"), sha256_file(corpus.model_path));
    nlohmann::json sources = nlohmann::json::parse(f.string_attr("/", "sources"));
    ASSERT_EQ(sources.size(), 2u);
    EXPECT_EQ(sources[0]["path"], ruth_path);
    EXPECT_EQ(sources[1]["sha256"], sha256_file(jonah_path));
  }
  EXPECT_EQ(all, expected);

  // Reading across every shard boundary through TokenShards gives the same stream.
  TokenShards shards(options.output_dir);
  EXPECT_EQ(shards.total_tokens(), int64_t(expected.size()));
  for (int64_t start : {0, 990, 1999, 2500})
    EXPECT_EQ(shards.read(start, 37).to_vector(),
              std::vector<double>(expected.begin() + start, expected.begin() + start + 37));
}

TEST(Prepare, RerunningReplacesOlderShardsAndLeavesNoTemporaries) {
  const KjvCorpus& corpus = KjvCorpus::get();
  TempDir dir;
  std::string text = dir.file("ruth.txt");
  linea::testing::write_file(text, linea::testing::bible_text("Ruth1:1-Ruth4:22"));
  PrepareOptions options{corpus.model_path, {text}, dir.file("out"), 500, false, {}, false};
  size_t many = prepare_shards(options).shard_paths.size();
  options.shard_tokens = 100000;
  options.force = true;
  PrepareSummary one = prepare_shards(options);
  ASSERT_GT(many, 1u);
  ASSERT_EQ(one.shard_paths.size(), 1u);
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(options.output_dir)) names.push_back(e.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"shard_00000.h5"});
  H5File f = H5File::open_read(one.shard_paths[0], H5Errors::data);
  EXPECT_EQ(f.int_attr("/", "append_eos"), 0);
  EXPECT_EQ(f.read_tensor("/doc_offsets").numel(), 5);  // 4 chapters + end
}

TEST(Prepare, BadInputsNameTheFileAndWriteNothing) {
  const KjvCorpus& corpus = KjvCorpus::get();
  TempDir dir;
  std::string blank = dir.file("blank.txt");
  linea::testing::write_file(blank, "\n \n\n");
  auto expect_data_error = [&](const PrepareOptions& options, const std::string& needle) {
    try {
      prepare_shards(options);
      ADD_FAILURE() << "expected a DataError containing: " << needle;
    } catch (const DataError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
    EXPECT_TRUE(!std::filesystem::exists(options.output_dir) || std::filesystem::is_empty(options.output_dir));
  };
  std::string out = dir.file("out");
  expect_data_error({corpus.model_path, {corpus.genesis_path, dir.file("missing.txt")}, out, 1000, true, {}, false},
                    "prepare: input file not found: " + dir.file("missing.txt"));
  expect_data_error({dir.file("missing.model"), {corpus.genesis_path}, out, 1000, true, {}, false},
                    "tokenizer model not found: " + dir.file("missing.model"));
  expect_data_error({corpus.model_path, {blank}, out, 1000, true, {}, false}, "prepare: the input files hold no text");
  expect_data_error({corpus.model_path, {corpus.genesis_path}, out, 0, true, {}, false}, "shard_tokens 0, expected > 0");
}

TEST(Prepare, VocabulariesBeyond65536IdsAreStoredAsUint32AndIdsRoundTrip) {
  // The tiny byte-level BPE vocabulary plus an added token "<big>" whose id sets the
  // vocabulary size: 65535 (vocab 65536, the largest that fits uint16) or 70000 (vocab 70001).
  TempDir dir;
  const std::string text = "abc <big> ab c<big><big>\n\nlast abc <big>";
  linea::testing::write_file(dir.file("in.txt"), text);
  for (int64_t big_id : {65535, 70000}) {
    int next_id = 0;
    nlohmann::json vocab = linea::testing::tiny_byte_level_vocab(next_id);
    nlohmann::json doc = {
        {"added_tokens", {{{"id", next_id}, {"content", "<|endoftext|>"}}, {{"id", big_id}, {"content", "<big>"}}}},
        {"normalizer", nullptr},
        {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
        {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::json::parse(R"(["a b", "ab c", "\u0120 abc"])")}}}};
    const std::string json = dir.file("big" + std::to_string(big_id) + ".json");
    linea::testing::write_file(json, doc.dump());
    std::unique_ptr<TextTokenizer> tok = load_tokenizer(json);
    ASSERT_EQ(tok->vocab_size(), big_id + 1);
    std::vector<double> expected;
    std::vector<std::string> docs = {"abc <big> ab c<big><big>", "last abc <big>"};
    for (const std::string& d : docs) {
      std::vector<int32_t> ids = tok->encode(d);
      EXPECT_EQ(tok->decode(ids), d);
      EXPECT_EQ(std::count(ids.begin(), ids.end(), int32_t(big_id)), d == docs[0] ? 3 : 1);
      for (int32_t id : ids) expected.push_back(id);
      expected.push_back(tok->eos_id());
    }
    PrepareOptions options;
    options.tokenizer_model = json;
    options.input_files = {dir.file("in.txt")};
    options.output_dir = dir.file("shards" + std::to_string(big_id));
    options.shard_tokens = 7;  // ids at the largest values land in several shards
    PrepareSummary summary = prepare_shards(options);
    ASSERT_GE(summary.shard_paths.size(), 2u);
    for (const std::string& path : summary.shard_paths) {
      // read_tensor maps a uint16 dataset to i32 and a uint32 one to i64.
      H5File f = H5File::open_read(path, H5Errors::data);
      EXPECT_EQ(f.read_tensor("/tokens").dtype(), big_id < 65536 ? DType::i32 : DType::i64) << path;
      EXPECT_EQ(f.int_attr("/", "vocab_size"), big_id + 1);
    }
    TokenShards shards(options.output_dir);
    std::vector<double> stream = shards.read(0, shards.total_tokens()).to_vector();
    EXPECT_EQ(stream, expected);
    std::vector<int32_t> ids(stream.begin(), stream.end());
    EXPECT_EQ(tok->decode(ids), docs[0] + "<|endoftext|>" + docs[1] + "<|endoftext|>");
  }
}
