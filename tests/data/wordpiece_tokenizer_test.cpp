// WordPieceTokenizer: golden ids for bert-base-uncased (reference: transformers.js), BERT's
// basic tokenization rules, [UNK] handling, continuation mask and errors on small vocabularies.
#include "data/wordpiece_tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "support/temp_dir.h"
#include "support/testing.h"

namespace linea {
namespace {

// bert-base-uncased's vocab.txt as scripts/tokenizer_fixtures_bert.sh leaves it in the cache.
std::string bert_vocab_path() {
  if (const char* p = std::getenv("LINEA_BERT_VOCAB")) return p;
  if (const char* cache = std::getenv("LINEA_NPM_CACHE")) return std::string(cache) + "/bert-base-uncased/vocab.txt";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "") + "/.cache/linea/npm/bert-base-uncased/vocab.txt";
}

#define LINEA_REQUIRE_BERT_VOCAB(path)                                                                \
  do {                                                                                                \
    if (!std::filesystem::is_regular_file(path))                                                      \
      GTEST_SKIP() << "bert-base-uncased vocab.txt not found at " << (path)                           \
                   << "; run scripts/tokenizer_fixtures_bert.sh (needs npm) or set LINEA_BERT_VOCAB"; \
  } while (0)

nlohmann::json golden() {
  const std::string path = std::string(LINEA_SOURCE_DIR) + "/tests/data/fixtures/bert_golden.json";
  std::ifstream in(path);
  EXPECT_TRUE(in.is_open()) << "missing fixture " << path;
  return nlohmann::json::parse(in);
}

// A small vocabulary written into `dir`; returns its path.
std::string write_vocab(const testing::TempDir& dir, const std::vector<std::string>& tokens,
                        const std::string& name = "vocab.txt") {
  std::ofstream out(dir.file(name), std::ios::binary);
  for (const std::string& t : tokens) out << t << "\n";
  return dir.file(name);
}

const std::vector<std::string> kTinyVocab = {
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "hello", "world", ",", "!",
    "cafe", "caf", "##é", "東", "京", "a", "##a", "##aa", "Hello", "'", "s", "it", "."};

TEST(WordPieceGolden, MatchesTransformersJsOnBertBaseUncased) {
  const std::string vocab = bert_vocab_path();
  LINEA_REQUIRE_BERT_VOCAB(vocab);
  WordPieceTokenizer tok = WordPieceTokenizer::load(vocab);
  const nlohmann::json g = golden();
  ASSERT_EQ(tok.vocab_size(), g["vocab_size"].get<int>());
  ASSERT_GE(g["cases"].size(), 15u);
  for (const auto& c : g["cases"]) {
    const std::string text = c["text"];
    const std::vector<int32_t> want = c["ids"];
    const std::vector<int32_t> got = tok.encode(text);
    EXPECT_EQ(got, want) << "text: " << text << "\nreference tokens: " << c["tokens"].dump();
  }
}

TEST(WordPieceGolden, SpecialIdsAndKnownWords) {
  const std::string vocab = bert_vocab_path();
  LINEA_REQUIRE_BERT_VOCAB(vocab);
  WordPieceTokenizer tok = WordPieceTokenizer::load(vocab);
  EXPECT_EQ(tok.vocab_size(), 30522);
  EXPECT_EQ(tok.pad_id(), 0);
  EXPECT_EQ(tok.unk_id(), 100);
  EXPECT_EQ(tok.cls_id(), 101);
  EXPECT_EQ(tok.sep_id(), 102);
  EXPECT_EQ(tok.mask_id(), 103);
  EXPECT_EQ(tok.token_id("the"), 1996);
  EXPECT_EQ(tok.token_id("##s"), 2015);
  EXPECT_EQ(tok.token_id("no-such-token"), -1);
  // Hand-checked against vocab.txt line numbers (id = line - 1): hello 7592, "," 1010, world 2088, "!" 999.
  EXPECT_EQ(tok.encode("Hello, World!"), (std::vector<int32_t>{7592, 1010, 2088, 999}));
}

TEST(WordPieceGolden, DecodeRoundTripsModuloCaseAndAccents) {
  const std::string vocab = bert_vocab_path();
  LINEA_REQUIRE_BERT_VOCAB(vocab);
  WordPieceTokenizer tok = WordPieceTokenizer::load(vocab);
  EXPECT_EQ(tok.decode(tok.encode("In the beginning God created the heaven and the earth.")),
            "in the beginning god created the heaven and the earth .");
  EXPECT_EQ(tok.decode(tok.encode("Héllo wörld — naïve café")), "hello world — naive cafe");
  EXPECT_EQ(tok.decode(tok.encode("And Jehoshaphat begat Joram")), "and jehoshaphat begat joram");
  EXPECT_EQ(tok.decode(tok.encode("[CLS] Jesus wept. [SEP]")), "[CLS] jesus wept . [SEP]");
  // Decoding then re-encoding is the identity on every golden case without [UNK].
  for (const auto& c : golden()["cases"]) {
    const std::vector<int32_t> ids = c["ids"];
    if (std::find(ids.begin(), ids.end(), tok.unk_id()) != ids.end()) continue;
    EXPECT_EQ(tok.encode(tok.decode(ids)), ids) << c["text"];
  }
}

TEST(WordPieceGolden, ContinuationMaskMarksHashPieces) {
  const std::string vocab = bert_vocab_path();
  LINEA_REQUIRE_BERT_VOCAB(vocab);
  WordPieceTokenizer tok = WordPieceTokenizer::load(vocab);
  const std::vector<bool> mask = tok.continuation_mask();
  ASSERT_EQ(mask.size(), 30522u);
  EXPECT_TRUE(mask[2015]);   // ##s
  EXPECT_FALSE(mask[1996]);  // the
  EXPECT_FALSE(mask[101]);   // [CLS]
  EXPECT_EQ(std::count(mask.begin(), mask.end(), true), 5828);
  // "jehoshaphat" -> je ##hosh ##ap ##hat: one word start then three continuations.
  const std::vector<int32_t> ids = tok.encode("Jehoshaphat");
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_FALSE(mask[ids[0]]);
  for (size_t i = 1; i < ids.size(); ++i) EXPECT_TRUE(mask[ids[i]]);
}

TEST(WordPieceGolden, UnknownWordsBecomeOneUnk) {
  const std::string vocab = bert_vocab_path();
  LINEA_REQUIRE_BERT_VOCAB(vocab);
  WordPieceTokenizer tok = WordPieceTokenizer::load(vocab);
  const int32_t unk = tok.unk_id();
  EXPECT_EQ(tok.encode(std::string(120, 'a')), std::vector<int32_t>{unk});
  EXPECT_EQ(tok.encode(std::string(101, 'c')), std::vector<int32_t>{unk});
  EXPECT_NE(tok.encode(std::string(100, 'b')), std::vector<int32_t>{unk});
  // A word with one unmatched character is a single [UNK], not partial pieces.
  EXPECT_EQ(tok.encode("the x\xF0\x9F\xA6\x80y end"), (std::vector<int32_t>{1996, unk, 2203}));
}

TEST(WordPieceGolden, StripsEveryNonspacingMarkAndDropsFormatChars) {
  // BERT drops all Mn marks after NFD (transformers.js only U+0300-036F, hence not in the JSON):
  // the emoji variation selector U+FE0F vanishes.
  const std::string vocab = bert_vocab_path();
  LINEA_REQUIRE_BERT_VOCAB(vocab);
  WordPieceTokenizer tok = WordPieceTokenizer::load(vocab);
  EXPECT_EQ(tok.encode("love\xEF\xB8\x8F"), tok.encode("love"));
  EXPECT_EQ(tok.encode("wo\xE2\x80\x8Drd"), tok.encode("word"));  // U+200D ZWJ is Cf: removed
  EXPECT_EQ(tok.encode("\xF0\xA0\x80\x80x"), tok.encode("\xF0\xA0\x80\x80 x"));  // U+20000 is CJK: split off
}

TEST(WordPieceTokenizer, GreedyLongestMatchWithContinuations) {
  testing::TempDir dir;
  WordPieceTokenizer tok = WordPieceTokenizer::load(write_vocab(dir, kTinyVocab));
  EXPECT_EQ(tok.vocab_size(), static_cast<int>(kTinyVocab.size()));
  EXPECT_EQ(tok.encode("unaffable"), (std::vector<int32_t>{5, 6, 7}));
  EXPECT_EQ(tok.encode("UNAFFABLE, hello!"), (std::vector<int32_t>{5, 6, 7, 10, 8, 11}));
  // Longest first: "aaaaaa" -> a ##aa ##aa ##a.
  EXPECT_EQ(tok.encode("aaaaaa"), (std::vector<int32_t>{17, 19, 19, 18}));
  EXPECT_EQ(tok.encode("it's."), (std::vector<int32_t>{23, 21, 22, 24}));
  EXPECT_EQ(tok.encode("東京"), (std::vector<int32_t>{15, 16}));
  EXPECT_EQ(tok.encode(" \t\n "), std::vector<int32_t>{});
  EXPECT_EQ(tok.decode({5, 6, 7, 10, 8}), "unaffable , hello");
}

TEST(WordPieceTokenizer, NeverSplitsSpecialTokens) {
  testing::TempDir dir;
  WordPieceTokenizer tok = WordPieceTokenizer::load(write_vocab(dir, kTinyVocab));
  EXPECT_EQ(tok.cls_id(), 2);
  EXPECT_EQ(tok.sep_id(), 3);
  EXPECT_EQ(tok.mask_id(), 4);
  EXPECT_EQ(tok.pad_id(), 0);
  EXPECT_EQ(tok.unk_id(), 1);
  EXPECT_EQ(tok.encode("[CLS] hello [MASK] world [SEP] [PAD] [UNK]"), (std::vector<int32_t>{2, 8, 4, 9, 3, 0, 1}));
  EXPECT_EQ(tok.encode("hello[SEP]world"), (std::vector<int32_t>{8, 3, 9}));
  // Lowercase spellings are ordinary text: split on the brackets.
  EXPECT_EQ(tok.encode("[cls]"), (std::vector<int32_t>{1, 1, 1}));
  EXPECT_EQ(tok.decode({2, 8, 3}), "[CLS] hello [SEP]");
}

TEST(WordPieceTokenizer, CasedKeepsCaseAndAccents) {
  testing::TempDir dir;
  const std::string path = write_vocab(dir, kTinyVocab);
  WordPieceTokenizer cased = WordPieceTokenizer::load(path, /*lowercase=*/false);
  WordPieceTokenizer uncased = WordPieceTokenizer::load(path);
  EXPECT_FALSE(cased.lowercase());
  EXPECT_EQ(cased.encode("Hello hello HELLO"), (std::vector<int32_t>{20, 8, 1}));
  EXPECT_EQ(cased.encode("caf\xC3\xA9"), (std::vector<int32_t>{13, 14}));  // café (precomposed) -> caf ##é
  EXPECT_EQ(uncased.encode("CAF\xC3\x89"), (std::vector<int32_t>{12}));    // CAFÉ -> cafe
  EXPECT_EQ(uncased.encode("cafe\xCC\x81"), (std::vector<int32_t>{12}));   // combining acute dropped
}

TEST(WordPieceTokenizer, ContinuationMaskOnSmallVocab) {
  testing::TempDir dir;
  WordPieceTokenizer tok = WordPieceTokenizer::load(write_vocab(dir, kTinyVocab));
  std::vector<bool> want(kTinyVocab.size(), false);
  for (int i : {6, 7, 14, 18, 19}) want[i] = true;
  EXPECT_EQ(tok.continuation_mask(), want);
}

TEST(WordPieceTokenizer, UnknownPiecesAndLongWords) {
  testing::TempDir dir;
  WordPieceTokenizer tok = WordPieceTokenizer::load(write_vocab(dir, kTinyVocab));
  EXPECT_EQ(tok.encode("hellox world"), (std::vector<int32_t>{1, 9}));
  EXPECT_EQ(tok.encode(std::string(100, 'a')).size(), 51u);  // a, 49 x ##aa, ##a
  EXPECT_EQ(tok.encode(std::string(101, 'a')), std::vector<int32_t>{1});
  EXPECT_EQ(tok.encode("hello\xFF world"), (std::vector<int32_t>{8, 9}));  // malformed UTF-8 byte dropped
}

TEST(WordPieceTokenizer, Errors) {
  testing::TempDir dir;
  testing::expect_error<DataError>([&] { WordPieceTokenizer::load(dir.file("absent.txt")); },
                                   "WordPiece vocabulary not found or unreadable: " + dir.file("absent.txt"));
  const std::string empty = write_vocab(dir, {}, "empty.txt");
  testing::expect_error<DataError>([&] { WordPieceTokenizer::load(empty); },
                                   "WordPiece vocabulary " + empty + " is empty");
  const std::string no_unk = write_vocab(dir, {"[PAD]", "hello"}, "no_unk.txt");
  testing::expect_error<DataError>([&] { WordPieceTokenizer::load(no_unk); }, no_unk + " has no [UNK] token");
  WordPieceTokenizer tok = WordPieceTokenizer::load(write_vocab(dir, kTinyVocab));
  testing::expect_error<DataError>([&] { tok.decode({8, 25}); },
                                   "token id 25 at position 1 is outside the vocabulary of 25");
  testing::expect_error<DataError>([&] { tok.decode({-1}); }, "token id -1 at position 0");
}

}  // namespace
}  // namespace linea
