// prepare_shards and `linea prepare` options on real text: JSONL and .gz corpora give the
// same shards as plain text, --force, the tokens-per-document summary, format errors.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/prepare.h"
#include "data/token_shards.h"
#include "support/kjv_text.h"
#include "support/testing.h"
#include "train/commands.h"

using namespace linea;
using linea::testing::expect_error;
using linea::testing::KjvCorpus;
using linea::testing::TempDir;
using linea::testing::write_file;

namespace {

std::vector<std::string> verses(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(line);
  return out;
}

std::string as_jsonl(const std::vector<std::string>& docs, const std::string& field) {
  std::string out;
  for (const std::string& d : docs) out += nlohmann::json{{field, d}}.dump() + "\n";
  return out;
}

void write_gz(const std::string& path, const std::string& text) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, text.data(), unsigned(text.size())), int(text.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

PrepareOptions options_for(const std::vector<std::string>& inputs, const std::string& out) {
  PrepareOptions o;
  o.tokenizer_model = KjvCorpus::get().model_path;
  o.input_files = inputs;
  o.output_dir = out;
  o.shard_tokens = 700;
  return o;
}

}  // namespace

TEST(PrepareFlags, JsonlAndGzipCorporaGiveTheSameTokensAsPlainText) {
  TempDir dir;
  const std::vector<std::string> jonah = verses(linea::testing::bible_text("Jonah1:1-Jonah4:11"));
  std::string text;
  for (const std::string& v : jonah) text += v + "\n\n";  // one document per verse
  write_file(dir.file("jonah.txt"), text);
  write_gz(dir.file("jonah.jsonl.gz"), as_jsonl(jonah, "content"));

  PrepareSummary plain = prepare_shards(options_for({dir.file("jonah.txt")}, dir.file("plain")));
  PrepareOptions o = options_for({dir.file("jonah.jsonl.gz")}, dir.file("jsonl"));
  o.reader.text_field = "content";
  PrepareSummary jsonl = prepare_shards(o);
  EXPECT_EQ(plain.num_documents, 48);
  EXPECT_EQ(jsonl.num_documents, 48);
  EXPECT_EQ(jsonl.num_tokens, plain.num_tokens);
  ASSERT_GT(plain.shard_paths.size(), 1u);
  TokenShards a(dir.file("plain")), b(dir.file("jsonl"));
  EXPECT_EQ(b.read(0, b.total_tokens()).to_vector(), a.read(0, a.total_tokens()).to_vector());

  o.reader.text_field = "text";
  o.output_dir = dir.file("missing_field");
  expect_error<DataError>([&] { prepare_shards(o); }, dir.file("jonah.jsonl.gz") + " line 1: no \"text\" field");
  EXPECT_FALSE(std::filesystem::exists(o.output_dir));

  // A corpus of empty JSONL documents holds no text.
  write_file(dir.file("empty.jsonl"), "{\"text\": \"\"}\n\n{\"text\": \"\"}\n");
  expect_error<DataError>([&] { prepare_shards(options_for({dir.file("empty.jsonl")}, dir.file("empty"))); },
                          "prepare: the input files hold no text");
}

TEST(PrepareFlags, AnOutputFolderWithShardsIsReplacedOnlyWithForce) {
  TempDir dir;
  write_file(dir.file("ruth.txt"), linea::testing::bible_text("Ruth1:1-Ruth4:22"));
  write_file(dir.file("jonah.txt"), linea::testing::bible_text("Jonah1:1-Jonah4:11"));
  PrepareOptions o = options_for({dir.file("ruth.txt")}, dir.file("out"));
  PrepareSummary first = prepare_shards(o);
  const size_t n = first.shard_paths.size();
  ASSERT_GT(n, 1u);
  const std::string before = read_bytes(first.shard_paths[0]);

  o.input_files = {dir.file("jonah.txt")};
  expect_error<DataError>([&] { prepare_shards(o); }, "prepare: output folder " + dir.file("out") + " already holds " +
                                                          std::to_string(n) + " shards, expected --force to replace them");
  EXPECT_EQ(read_bytes(first.shard_paths[0]), before);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(o.output_dir), {}), int64_t(n));

  o.force = true;
  PrepareSummary second = prepare_shards(o);
  EXPECT_EQ(second.num_documents, 4);
  EXPECT_NE(read_bytes(second.shard_paths[0]), before);
  EXPECT_EQ(TokenShards(o.output_dir).total_tokens(), second.num_tokens);

  // A folder holding other files only needs no --force.
  std::filesystem::create_directories(dir.file("notes"));
  write_file(dir.file("notes/readme.txt"), "not a shard");
  o.force = false;
  o.output_dir = dir.file("notes");
  EXPECT_EQ(prepare_shards(o).num_documents, 4);
}

TEST(PrepareFlags, SummaryGivesTokensPerDocumentPercentiles) {
  TempDir dir;
  const KjvCorpus& corpus = KjvCorpus::get();
  const std::vector<std::string> docs = verses(linea::testing::bible_text("Jonah1:1-Jonah1:17"));
  ASSERT_EQ(docs.size(), 17u);
  write_file(dir.file("jonah.jsonl"), as_jsonl(docs, "text"));
  Tokenizer tok = Tokenizer::load(corpus.model_path);
  std::vector<int64_t> lengths;
  for (const std::string& d : docs) lengths.push_back(int64_t(tok.encode(d).size()) + 1);  // + eos
  std::sort(lengths.begin(), lengths.end());
  ASSERT_LT(lengths.front(), lengths.back());

  PrepareSummary s = prepare_shards(options_for({dir.file("jonah.jsonl")}, dir.file("out")));
  EXPECT_EQ(s.num_documents, 17);
  // Nearest rank over 17 documents: ceil(0.5 * 17) = 9th, ceil(0.9 * 17) = 16th, 17th.
  EXPECT_EQ(s.doc_tokens_p50, lengths[8]);
  EXPECT_EQ(s.doc_tokens_p90, lengths[15]);
  EXPECT_EQ(s.doc_tokens_p99, lengths[16]);
  EXPECT_EQ(s.doc_tokens_max, lengths[16]);
  int64_t total = 0;
  for (int64_t l : lengths) total += l;
  EXPECT_EQ(s.num_tokens, total);
}

TEST(PrepareFlags, CommandPrintsTheSummaryAndTrainsOnJsonlDocuments) {
  TempDir dir;
  const std::vector<std::string> docs = verses(linea::testing::bible_text("Ruth1:1-Ruth4:22"));
  write_file(dir.file("ruth.data"), as_jsonl(docs, "verse"));
  PrepareCommand cmd;
  cmd.tokenizer = dir.file("tok/ruth.model");
  cmd.train_vocab = 400;
  cmd.inputs = {dir.file("ruth.data")};
  cmd.output = dir.file("out");
  cmd.format = "jsonl";
  cmd.text_field = "verse";
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(run_prepare(cmd), 0);
  const std::string printed = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(printed.find("trained tokenizer " + cmd.tokenizer + " (vocab 400)"), std::string::npos) << printed;
  EXPECT_NE(printed.find("tokens in " + std::to_string(docs.size()) + " documents"), std::string::npos) << printed;
  EXPECT_NE(printed.find("tokens per document: p50 "), std::string::npos) << printed;
  EXPECT_FALSE(std::filesystem::exists(dir.file("tok/ruth.corpus.tmp")));
  // The tokenizer learned verses, not JSON syntax: no piece holds a quote or brace.
  Tokenizer tok = Tokenizer::load(cmd.tokenizer);
  EXPECT_EQ(tok.vocab_size(), 400);
  for (int32_t id : tok.encode(docs[0])) EXPECT_EQ(tok.decode({id}).find_first_of("{}\""), std::string::npos);

  cmd.train_vocab = 0;
  expect_error<DataError>([&] { run_prepare(cmd); }, "expected --force to replace them");
  cmd.force = true;
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(run_prepare(cmd), 0);
  ::testing::internal::GetCapturedStdout();
  cmd.format = "xml";
  expect_error<ConfigError>([&] { run_prepare(cmd); }, "corpus format 'xml', expected one of text, lines, jsonl, auto");

  // Invalid UTF-8 stops the command, or is replaced with --replace-invalid-utf8.
  write_file(dir.file("bad.txt"), "In the days \xC3( when the judges ruled\n");
  cmd.format = "auto";
  cmd.inputs = {dir.file("bad.txt")};
  expect_error<DataError>([&] { run_prepare(cmd); }, dir.file("bad.txt") + ": invalid UTF-8 at byte offset 12");
  cmd.replace_invalid_utf8 = true;
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(run_prepare(cmd), 0);
  EXPECT_NE(::testing::internal::GetCapturedStdout().find("in 1 documents"), std::string::npos);
}
