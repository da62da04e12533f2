// TextTokenizer and load_tokenizer: spec forms and errors, the adapters' special ids, and
// prepare_shards through a WordPiece vocab.txt and a byte-level BPE tokenizer.json (tiny
// hand-made files, as in the BPE and WordPiece tests, so nothing is downloaded).
#include "data/text_tokenizer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/io/hdf5_file.h"
#include "data/prepare.h"
#include "data/sha256.h"
#include "data/token_shards.h"
#include "data/tokenizer.h"
#include "support/kjv_text.h"
#include "support/temp_dir.h"
#include "support/testing.h"
#include "support/tiny_bpe_vocab.h"

using namespace linea;
using linea::testing::TempDir;

namespace {

void write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// The tiny BERT vocabulary of wordpiece_tokenizer_test.cpp.
const std::vector<std::string> kTinyVocab = {
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "hello", "world", ",", "!",
    "cafe", "caf", "##é", "東", "京", "a", "##a", "##aa", "Hello", "'", "s", "it", "."};

std::string write_vocab(const TempDir& dir) {
  std::ofstream out(dir.file("vocab.txt"), std::ios::binary);
  for (const std::string& t : kTinyVocab) out << t << "\n";
  return dir.file("vocab.txt");
}

// The tiny byte-level tokenizer.json of bpe_tokenizer_test.cpp (every single-byte symbol, merges
// a+b, ab+c, Ġ+abc), with `added` as its added tokens after the vocab.
std::string tiny_tokenizer_json(const std::vector<std::string>& added) {
  int id = 0;
  nlohmann::json vocab = linea::testing::tiny_byte_level_vocab(id);
  nlohmann::json added_tokens = nlohmann::json::array();
  for (const std::string& a : added) added_tokens.push_back({{"id", id++}, {"content", a}});
  nlohmann::json doc = {
      {"added_tokens", added_tokens},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::json::parse(R"(["a b", "ab c", "\u0120 abc"])")}}}};
  return doc.dump();
}

// Blank-line separated documents as prepare_shards reads a text file.
const std::vector<std::string> kDocs = {"Hello, world!\nunaffable it's", "abc abc ab c", "cafe 東京 aaa."};

std::string write_corpus(const TempDir& dir) {
  std::string text;
  for (const std::string& d : kDocs) text += d + "\n\n";
  write(dir.file("corpus.txt"), text);
  return dir.file("corpus.txt");
}

// Prepares the corpus with `spec` into one shard and checks its tokens are tok's encode per
// document plus eos, and its tokenizer attributes.
void expect_prepared_like_encode(const TempDir& dir, const std::string& spec, const TextTokenizer& tok,
                                 const std::string& file) {
  PrepareOptions o;
  o.tokenizer_model = spec;
  o.input_files = {write_corpus(dir)};
  o.output_dir = dir.file(std::string("shards_") + tok.kind() + std::to_string(tok.vocab_size()));
  o.threads = 2;
  PrepareSummary s = prepare_shards(o);
  std::vector<double> expected;
  for (const std::string& d : kDocs) {
    for (int32_t id : tok.encode(d)) expected.push_back(id);
    expected.push_back(tok.eos_id());
  }
  EXPECT_EQ(s.num_documents, int64_t(kDocs.size()));
  ASSERT_EQ(s.shard_paths.size(), 1u);
  H5File f = H5File::open_read(s.shard_paths[0], H5Errors::data);
  EXPECT_EQ(f.read_tensor("/tokens").to_vector(), expected);
  EXPECT_EQ(f.string_attr("/", "tokenizer_kind"), tok.kind());
  EXPECT_EQ(f.string_attr("/", "tokenizer"), file);
  EXPECT_EQ(f.string_attr("/", "tokenizer_sha256"), sha256_file(file));
  EXPECT_EQ(f.int_attr("/", "vocab_size"), tok.vocab_size());
  EXPECT_EQ(f.int_attr("/", "bos_id"), tok.bos_id());
  EXPECT_EQ(f.int_attr("/", "eos_id"), tok.eos_id());
  EXPECT_EQ(f.int_attr("/", "pad_id"), tok.pad_id());
  EXPECT_EQ(f.int_attr("/", "unk_id"), tok.unk_id());
  TokenShards shards(o.output_dir);
  EXPECT_EQ(shards.read(0, shards.total_tokens()).to_vector(), expected);
}

}  // namespace

TEST(TextTokenizerSpec, KindComesFromTheFileNameOrAPrefix) {
  auto expect_spec = [](const std::string& spec, const std::string& kind, const std::string& path, bool lowercase) {
    TokenizerSpec s = parse_tokenizer_spec(spec);
    EXPECT_EQ(s.kind, kind) << spec;
    EXPECT_EQ(s.path, path) << spec;
    EXPECT_EQ(s.lowercase, lowercase) << spec;
  };
  expect_spec("out/tok.model", "sentencepiece", "out/tok.model", true);
  expect_spec("gpt2/tokenizer.json", "bpe", "gpt2/tokenizer.json", true);
  expect_spec("bert/vocab.txt", "wordpiece", "bert/vocab.txt", true);
  expect_spec("words.txt", "wordpiece", "words.txt", true);
  expect_spec("spm:tok.bin", "sentencepiece", "tok.bin", true);
  expect_spec("bpe:/abs/merges.dat", "bpe", "/abs/merges.dat", true);
  expect_spec("wordpiece:vocab", "wordpiece", "vocab", true);
  expect_spec("wordpiece-cased:cased/vocab.txt", "wordpiece", "cased/vocab.txt", false);
  expect_spec("spm:vocab.txt", "sentencepiece", "vocab.txt", true);  // the prefix wins over the name
}

TEST(TextTokenizerSpec, UnknownFormsAreConfigErrorsListingTheForms) {
  for (const std::string spec : {"tok.bin", "vocab", ".model", "", "sentencepiece:tok", "vocab.txt.gz"})
    linea::testing::expect_error<ConfigError>([&] { parse_tokenizer_spec(spec); },
                                              "tokenizer spec '" + spec + "' is of no known form; expected <path>.model");
  linea::testing::expect_error<ConfigError>([] { load_tokenizer("tok.bin"); },
                                            "spm:<path>, bpe:<path>, wordpiece:<path>, wordpiece-cased:<path>");
  linea::testing::expect_error<ConfigError>([] { parse_tokenizer_spec("bpe:"); }, "tokenizer spec 'bpe:' names no file");
  TempDir dir;
  linea::testing::expect_error<DataError>([&] { load_tokenizer(dir.file("missing.json")); }, dir.file("missing.json"));
  linea::testing::expect_error<DataError>([&] { load_tokenizer(dir.file("missing.model")); },
                                          "tokenizer model not found: " + dir.file("missing.model"));
}

TEST(TextTokenizer, AdaptersGiveEachKindsSpecialIds) {
  TempDir dir;
  const std::string vocab = write_vocab(dir);
  std::unique_ptr<TextTokenizer> wp = load_tokenizer(vocab);
  EXPECT_STREQ(wp->kind(), "wordpiece");
  EXPECT_EQ(wp->path(), vocab);
  EXPECT_EQ(wp->vocab_size(), int(kTinyVocab.size()));
  EXPECT_EQ(wp->bos_id(), 2);  // [CLS]
  EXPECT_EQ(wp->eos_id(), 3);  // [SEP]
  EXPECT_EQ(wp->pad_id(), 0);  // [PAD]
  EXPECT_EQ(wp->unk_id(), 1);  // [UNK]
  EXPECT_EQ(wp->encode("Hello unaffable"), (std::vector<int32_t>{8, 5, 6, 7}));
  EXPECT_EQ(load_tokenizer("wordpiece-cased:" + vocab)->encode("Hello"), std::vector<int32_t>{20});
  EXPECT_EQ(wp->decode({8, 9}), "hello world");

  write(dir.file("tokenizer.json"), tiny_tokenizer_json({"<s>", "<|endoftext|>"}));
  std::unique_ptr<TextTokenizer> bpe = load_tokenizer(dir.file("tokenizer.json"));
  EXPECT_STREQ(bpe->kind(), "bpe");
  EXPECT_EQ(bpe->path(), dir.file("tokenizer.json"));
  EXPECT_EQ(bpe->vocab_size(), 261);
  EXPECT_EQ(bpe->eos_id(), 260);
  EXPECT_EQ(bpe->bos_id(), -1);
  EXPECT_EQ(bpe->pad_id(), -1);
  EXPECT_EQ(bpe->unk_id(), -1);
  EXPECT_EQ(bpe->encode("abc abc<|endoftext|>"), (std::vector<int32_t>{257, 258, 260}));
  EXPECT_EQ(bpe->decode({257, 258, 260}), "abc abc<|endoftext|>");
  write(dir.file("llama.json"), tiny_tokenizer_json({"<|begin_of_text|>", "<|end_of_text|>"}));
  std::unique_ptr<TextTokenizer> llama = load_tokenizer("bpe:" + dir.file("llama.json"));
  EXPECT_EQ(llama->bos_id(), 259);
  EXPECT_EQ(llama->eos_id(), 260);

  const linea::testing::KjvCorpus& corpus = linea::testing::KjvCorpus::get();
  std::unique_ptr<TextTokenizer> spm = load_tokenizer(corpus.model_path);
  Tokenizer direct = Tokenizer::load(corpus.model_path);
  EXPECT_STREQ(spm->kind(), "sentencepiece");
  EXPECT_EQ(spm->path(), corpus.model_path);
  EXPECT_EQ(spm->vocab_size(), direct.vocab_size());
  EXPECT_EQ((std::vector<int>{spm->bos_id(), spm->eos_id(), spm->pad_id(), spm->unk_id()}),
            (std::vector<int>{direct.bos_id(), direct.eos_id(), direct.pad_id(), direct.unk_id()}));
  EXPECT_EQ(spm->encode("In the beginning"), direct.encode("In the beginning"));
}

TEST(TextTokenizer, PrepareWithAWordPieceVocab) {
  TempDir dir;
  const std::string vocab = write_vocab(dir);
  std::unique_ptr<TextTokenizer> tok = load_tokenizer(vocab);
  ASSERT_EQ(tok->encode(kDocs[0]), (std::vector<int32_t>{8, 10, 9, 11, 5, 6, 7, 23, 21, 22}));
  expect_prepared_like_encode(dir, vocab, *tok, vocab);
  // Cased: "Hello" keeps its capital (id 20), and the spec's prefix is not part of the file name.
  std::unique_ptr<TextTokenizer> cased = load_tokenizer("wordpiece-cased:" + vocab);
  ASSERT_NE(cased->encode(kDocs[0]), tok->encode(kDocs[0]));
  TempDir dir2;
  expect_prepared_like_encode(dir2, "wordpiece-cased:" + vocab, *cased, vocab);
}

TEST(TextTokenizer, PrepareWithABpeTokenizerJson) {
  TempDir dir;
  const std::string json = dir.file("tokenizer.json");
  write(json, tiny_tokenizer_json({"<|endoftext|>"}));
  std::unique_ptr<TextTokenizer> tok = load_tokenizer(json);
  // Pre-tokens "abc", " abc", " ab", " c": abc, Ġabc, Ġ ab, Ġ c (byte ids are the byte values).
  ASSERT_EQ(tok->encode(kDocs[1]), (std::vector<int32_t>{257, 258, 32, 256, 32, 99}));
  expect_prepared_like_encode(dir, json, *tok, json);

  // Without an eos token, appending eos is refused and nothing is written.
  write(dir.file("no_eos.json"), tiny_tokenizer_json({}));
  PrepareOptions o;
  o.tokenizer_model = dir.file("no_eos.json");
  o.input_files = {write_corpus(dir)};
  o.output_dir = dir.file("no_eos_shards");
  linea::testing::expect_error<DataError>([&] { prepare_shards(o); },
                                          "prepare: " + dir.file("no_eos.json") + " (bpe) has no eos token");
  EXPECT_FALSE(std::filesystem::exists(o.output_dir));
  o.append_eos = false;
  EXPECT_EQ(prepare_shards(o).num_documents, int64_t(kDocs.size()));
}
