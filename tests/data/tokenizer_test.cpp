// SentencePiece on real text (Genesis, KJV): deterministic training (identical models
// from two runs, golden ids), encode/decode round trips, special ids, clear errors.
#include "data/tokenizer.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "data/sha256.h"
#include "support/kjv_text.h"
#include "support/testing.h"

using namespace linea;
using linea::testing::KjvCorpus;

namespace {

}  // namespace

TEST(Tokenizer, TrainedModelHasTheDocumentedSpecialIds) {
  Tokenizer tok = Tokenizer::load(KjvCorpus::get().model_path);
  EXPECT_EQ(tok.vocab_size(), 500);
  EXPECT_EQ(tok.unk_id(), 0);
  EXPECT_EQ(tok.bos_id(), 1);
  EXPECT_EQ(tok.eos_id(), 2);
  EXPECT_EQ(tok.pad_id(), 3);
  EXPECT_EQ(tok.model_path(), KjvCorpus::get().model_path);
}

TEST(Tokenizer, TrainingIsDeterministicAndGivesGoldenIds) {
  const KjvCorpus& corpus = KjvCorpus::get();
  std::string again = train_sentencepiece({corpus.genesis_path}, corpus.dir.file("again"), 500);
  // The .model embeds the trainer flags (paths differ); the .vocab lists pieces and scores.
  EXPECT_EQ(again, corpus.dir.file("again.model"));
  EXPECT_EQ(sha256_file(corpus.dir.file("again.vocab")), sha256_file(corpus.dir.file("kjv500.vocab")));
  Tokenizer tok = Tokenizer::load(corpus.model_path);
  // Fixed by the deterministic training above (BPE, vocab 500, Genesis from bible-kjv 4.38).
  std::vector<int32_t> golden = {300, 446, 264, 299, 461, 271, 446, 318, 375, 286, 275,
                                 284, 281, 264, 293, 443, 391, 267, 264, 433, 260, 465};
  EXPECT_EQ(tok.encode("In the beginning God created the heaven and the earth."), golden);
}

TEST(Tokenizer, EncodeDecodeRoundTripsVersesAndUnseenBytes) {
  Tokenizer tok = Tokenizer::load(KjvCorpus::get().model_path);
  std::string ruth = linea::testing::bible_text("Ruth1:1-Ruth1:22");
  std::istringstream lines(ruth);
  std::string line;
  int verses = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    std::vector<int32_t> ids = tok.encode(line);
    ASSERT_FALSE(ids.empty());
    for (int32_t id : ids) EXPECT_TRUE(id >= 0 && id < tok.vocab_size());
    EXPECT_EQ(tok.decode(ids), line);
    ++verses;
  }
  EXPECT_EQ(verses, 22);
  // Byte fallback: characters never seen in training still round-trip, without unk.
  std::string unseen = "Zürich → 東京 {q}";
  std::vector<int32_t> ids = tok.encode(unseen);
  for (int32_t id : ids) EXPECT_NE(id, tok.unk_id());
  EXPECT_EQ(tok.decode(ids), unseen);
  EXPECT_TRUE(tok.encode("").empty());
}

TEST(Tokenizer, UnigramTrainingWorksToo) {
  const KjvCorpus& corpus = KjvCorpus::get();
  Tokenizer tok = Tokenizer::load(
      train_sentencepiece({corpus.genesis_path}, corpus.dir.file("unigram"), 500, SentencePieceType::unigram));
  EXPECT_EQ(tok.vocab_size(), 500);
  EXPECT_EQ(tok.decode(tok.encode("And Noah begat Shem, Ham, and Japheth.")), "And Noah begat Shem, Ham, and Japheth.");
}

TEST(Tokenizer, BadInputsGiveClearErrors) {
  const KjvCorpus& corpus = KjvCorpus::get();
  linea::testing::expect_error<DataError>([&] { Tokenizer::load(corpus.dir.file("missing.model")); },
                    "tokenizer model not found: " + corpus.dir.file("missing.model"));
  linea::testing::expect_error<DataError>([&] { Tokenizer::load(corpus.genesis_path); }, "not a SentencePiece model: " + corpus.genesis_path);
  linea::testing::expect_error<DataError>([&] { train_sentencepiece({corpus.dir.file("nope.txt")}, corpus.dir.file("x"), 500); },
                    "tokenizer training input not found: " + corpus.dir.file("nope.txt"));
  linea::testing::expect_error<DataError>([&] { train_sentencepiece({corpus.genesis_path}, corpus.dir.file("tiny"), 10); },
                    "SentencePiece training of " + corpus.dir.file("tiny") + ".model failed");
  Tokenizer tok = Tokenizer::load(corpus.model_path);
  linea::testing::expect_error<DataError>([&] { tok.decode({5, 500}); }, "token id 500 at position 1 is outside the vocabulary");
}
