// MlmDataset: [CLS]/[SEP]/pad layout of packed and per-document examples, masking statistics on
// real text (Genesis + Exodus packed, verses per document), truncation and padding, labels,
// determinism, batch-composition independence, whole words, bad options.
#include "data/mlm_dataset.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "data/prepare.h"
#include "data/tokenizer.h"
#include "shard_writer.h"
#include "support/kjv_text.h"
#include "support/testing.h"

using namespace linea;
using linea::testing::KjvCorpus;
using linea::testing::TempDir;

namespace {

// Genesis and Exodus prepared once per process with the KJV SentencePiece model (vocab 500:
// unk 0, bos 1, eos 2, pad 3), about 200k tokens.
const std::string& kjv_shards() {
  static TempDir dir;
  static std::string shards = [] {
    const KjvCorpus& corpus = KjvCorpus::get();
    std::string exodus = dir.file("exodus.txt");
    linea::testing::write_file(exodus, linea::testing::bible_text("Ex1:1-Ex40:38"));
    PrepareOptions options;
    options.tokenizer_model = corpus.model_path;
    options.input_files = {corpus.genesis_path, exodus};
    options.output_dir = dir.file("shards");
    options.shard_tokens = 50'000;
    prepare_shards(options);
    return options.output_dir;
  }();
  return shards;
}

// Genesis to Leviticus prepared once per process with one document per verse (format lines,
// eos appended): 3605 documents, about 150k tokens. Also returns the verses, in order.
const std::string& kjv_verse_shards(std::vector<std::string>* verses_out = nullptr) {
  static TempDir dir;
  static std::vector<std::string> verses;
  static std::string shards = [] {
    const std::string text = linea::testing::bible_text("Ge1:1-Le27:34");
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);)
      if (!line.empty()) verses.push_back(line);
    linea::testing::write_file(dir.file("verses.txt"), text);
    PrepareOptions options;
    options.tokenizer_model = KjvCorpus::get().model_path;
    options.input_files = {dir.file("verses.txt")};
    options.output_dir = dir.file("shards");
    options.shard_tokens = 40'000;
    options.reader.format = CorpusFormat::lines;
    prepare_shards(options);
    return options.output_dir;
  }();
  if (verses_out) *verses_out = verses;
  return shards;
}

// The model has no [MASK] piece: bos/eos serve as [CLS]/[SEP], piece 4 is taken as [MASK]
// (so it is special too), unk is an extra special, and normal ids start at 5.
MlmOptions kjv_options(int64_t seq_len = 128, uint64_t seed = 7) {
  MlmOptions o;
  o.seq_len = seq_len;
  o.seed = seed;
  o.cls_id = 1;
  o.sep_id = 2;
  o.pad_id = 3;
  o.mask_id = 4;
  o.extra_special_ids = {0};
  o.first_normal_id = 5;
  return o;
}

std::vector<int64_t> iota(int64_t n) {
  std::vector<int64_t> v(size_t(n), 0);
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = i;
  return v;
}

std::vector<int64_t> row(const Tensor& t, int64_t b) {
  std::vector<int64_t> out;
  for (int64_t j = 0; j < t.size(1); ++j) out.push_back(int64_t(t.at({b, j})));
  return out;
}

// Masks every example of `data` and checks: special tokens never selected, labels hold the
// original id, attention covers exactly the real tokens, >= 100k candidates with 30% +/- 0.5%
// selected and an 80/10/10 split (+/- 1%). Returns the padding positions counted.
int64_t expect_mask_statistics(const MlmDataset& data) {
  const int64_t n = data.num_examples();
  MlmBatch batch = data.get_batch(iota(n));
  const int64_t T = data.seq_len(), vocab = data.shards().vocab_size();
  int64_t candidates = 0, selected = 0, to_mask = 0, to_random = 0, kept = 0, padding = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t len = 0;
    std::vector<double> original = data.example_ids(i, &len).to_vector();
    for (int64_t t = 0; t < T; ++t) {
      const int64_t orig = int64_t(original[size_t(t)]);
      const int64_t in = int64_t(batch.input_ids.at({i, t})), label = int64_t(batch.labels.at({i, t}));
      EXPECT_EQ(int64_t(batch.attention_mask.at({i, t})), t < len ? 1 : 0) << "example " << i << " position " << t;
      if (t >= len) ++padding;
      if (data.is_special(orig)) {
        EXPECT_EQ(label, -100) << "special id " << orig << " selected at example " << i << " position " << t;
        EXPECT_EQ(in, orig);
        continue;
      }
      ++candidates;
      if (label == -100) {
        EXPECT_EQ(in, orig);
        continue;
      }
      EXPECT_EQ(label, orig);  // labels hold the original id exactly
      ++selected;
      if (in == 4) {
        ++to_mask;
      } else if (in == orig) {
        ++kept;  // includes random draws that hit the original id (1 in 495 of them)
      } else {
        EXPECT_GE(in, 5) << "random replacement " << in << " is a special id";
        EXPECT_LT(in, vocab);
        ++to_random;
      }
    }
  }
  EXPECT_GE(candidates, 100'000);
  const double frac = double(selected) / double(candidates);
  ::testing::Test::RecordProperty("candidates", int(candidates));
  ::testing::Test::RecordProperty("selected", int(selected));
  ::testing::Test::RecordProperty("to_mask", int(to_mask));
  ::testing::Test::RecordProperty("to_random", int(to_random));
  EXPECT_NEAR(frac, 0.30, 0.005) << selected << " of " << candidates;
  EXPECT_NEAR(double(to_mask) / double(selected), 0.8, 0.01);
  EXPECT_NEAR(double(to_random) / double(selected), 0.1, 0.01);
  EXPECT_NEAR(double(kept) / double(selected), 0.1, 0.01);
  return padding;
}

}  // namespace

TEST(MlmDataset, PacksWindowsBetweenClsAndSepWithAPaddedTail) {
  TempDir dir;
  linea::testing::write_counting_shards(dir.path(), {13, 9, 20}, 1000);  // tokens 0..41
  MlmOptions o;
  o.seq_len = 10;
  o.mask_ratio = 0.0;
  o.cls_id = 1, o.sep_id = 2, o.pad_id = 0, o.mask_id = 3, o.first_normal_id = 4;
  MlmDataset data(TokenShards(dir.path()), o);
  EXPECT_EQ(data.num_examples(), 6);  // ceil(42 / 8)
  MlmBatch batch = data.get_batch({1, 5});
  ASSERT_EQ(batch.input_ids.shape(), (Shape{2, 10}));
  EXPECT_EQ(batch.input_ids.dtype(), DType::i64);
  EXPECT_EQ(batch.labels.dtype(), DType::i64);
  EXPECT_EQ(batch.attention_mask.dtype(), DType::u8);
  EXPECT_EQ(row(batch.input_ids, 0), (std::vector<int64_t>{1, 8, 9, 10, 11, 12, 13, 14, 15, 2}));
  EXPECT_EQ(row(batch.input_ids, 1), (std::vector<int64_t>{1, 40, 41, 2, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(row(batch.attention_mask, 0), std::vector<int64_t>(10, 1));
  EXPECT_EQ(row(batch.attention_mask, 1), (std::vector<int64_t>{1, 1, 1, 1, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(batch.labels.to_vector(), std::vector<double>(20, -100.0));
  EXPECT_EQ(data.get_batch({}).input_ids.shape(), (Shape{0, 10}));
  EXPECT_THROW(data.get_batch({6}), DataError);
  EXPECT_THROW(data.get_batch({-1}), DataError);

  // Masking everything with [MASK]: every non-special token becomes 3, labels keep it.
  o.mask_ratio = 1.0, o.replace_mask = 1.0, o.replace_random = 0.0;
  MlmBatch all = MlmDataset(TokenShards(dir.path()), o).get_batch({0});
  EXPECT_EQ(row(all.input_ids, 0), (std::vector<int64_t>{1, 0, 1, 2, 3, 3, 3, 3, 3, 2}));  // stream 0..7
  EXPECT_EQ(row(all.labels, 0), (std::vector<int64_t>{-100, -100, -100, -100, -100, 4, 5, 6, 7, -100}));
}

TEST(MlmDataset, MaskingStatisticsOnRealText) {
  MlmDataset data(TokenShards(kjv_shards()), kjv_options());
  EXPECT_GT(expect_mask_statistics(data), 0);  // the last example is short
}

TEST(MlmDataset, PerDocumentExamplesAreTruncatedDocumentsWithoutTheirEos) {
  TempDir dir;
  // Documents with eos 1 appended: 3 tokens, 9 (across shards of 5), none, 1; vocab 1000.
  const std::vector<std::vector<double>> docs = {
      {10, 11, 12, 1}, {20, 21, 22, 23, 24, 25, 26, 27, 28, 1}, {1}, {30, 1}};
  linea::testing::write_document_shards(dir.path(), docs, 5, 1000, true);
  MlmOptions o;
  o.seq_len = 8;
  o.mask_ratio = 0.0;
  o.per_document = true;
  o.cls_id = 2, o.sep_id = 3, o.pad_id = 0, o.mask_id = 4, o.first_normal_id = 5;
  MlmDataset data(TokenShards(dir.path()), o);
  ASSERT_EQ(data.num_examples(), 4);
  MlmBatch batch = data.get_batch({0, 1, 2, 3});
  EXPECT_EQ(row(batch.input_ids, 0), (std::vector<int64_t>{2, 10, 11, 12, 3, 0, 0, 0}));
  EXPECT_EQ(row(batch.input_ids, 1), (std::vector<int64_t>{2, 20, 21, 22, 23, 24, 25, 3}));  // truncated to 6
  EXPECT_EQ(row(batch.input_ids, 2), (std::vector<int64_t>{2, 3, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(row(batch.input_ids, 3), (std::vector<int64_t>{2, 30, 3, 0, 0, 0, 0, 0}));
  EXPECT_EQ(row(batch.attention_mask, 0), (std::vector<int64_t>{1, 1, 1, 1, 1, 0, 0, 0}));
  EXPECT_EQ(row(batch.attention_mask, 1), std::vector<int64_t>(8, 1));
  EXPECT_EQ(row(batch.attention_mask, 2), (std::vector<int64_t>{1, 1, 0, 0, 0, 0, 0, 0}));
  EXPECT_THROW(data.get_batch({4}), DataError);
  // The same shards packed: windows of 6 stream tokens, eos included.
  o.per_document = false;
  MlmDataset packed(TokenShards(dir.path()), o);
  EXPECT_EQ(packed.num_examples(), 3);  // ceil(16 / 6)
  EXPECT_EQ(row(packed.get_batch({0}).input_ids, 0), (std::vector<int64_t>{2, 10, 11, 12, 1, 20, 21, 3}));
  // Per document needs /doc_offsets, and a document that does not end in eos is an error.
  TempDir bare;
  linea::testing::write_counting_shards(bare.path(), {20}, 1000);
  o.per_document = true;
  linea::testing::expect_error<DataError>([&] { MlmDataset(TokenShards(bare.path()), o); },
                                          bare.file("shard_00000.h5") + ": no /doc_offsets");
  TempDir wrong;
  linea::testing::write_document_shards(wrong.path(), {{10, 11, 1}, {20, 21}}, 5, 1000, true);
  MlmDataset no_eos(TokenShards(wrong.path()), o);
  EXPECT_EQ(row(no_eos.get_batch({0}).input_ids, 0), (std::vector<int64_t>{2, 10, 11, 3, 0, 0, 0, 0}));
  linea::testing::expect_error<DataError>([&] { no_eos.get_batch({1}); },
                                          ": document 1 ends with id 21, expected the eos id 1 since its shards have append_eos");
}

TEST(MlmDataset, PerDocumentExamplesOfRealVersesAreTheirFirstTokens) {
  // Verses as documents and seq_len 16: every example is [CLS], the verse's first 14 ids (all
  // of them when shorter), [SEP], then padding; the eos after each verse never appears.
  std::vector<std::string> verses;
  const std::string shards = kjv_verse_shards(&verses);
  MlmOptions o = kjv_options(16);
  o.per_document = true;
  o.mask_ratio = 0.0;
  MlmDataset data(TokenShards(shards), o);
  ASSERT_EQ(data.num_examples(), int64_t(verses.size()));
  ASSERT_EQ(verses.size(), 3605u);  // Genesis 1533, Exodus 1213, Leviticus 859
  Tokenizer tok = Tokenizer::load(KjvCorpus::get().model_path);
  MlmBatch batch = data.get_batch(iota(data.num_examples()));
  int64_t truncated = 0;
  for (int64_t i = 0; i < data.num_examples(); ++i) {
    std::vector<int32_t> ids = tok.encode(verses[size_t(i)]);
    truncated += ids.size() > 14;
    ids.resize(std::min<size_t>(ids.size(), 14));
    std::vector<int64_t> expected = {1};
    expected.insert(expected.end(), ids.begin(), ids.end());
    expected.push_back(2);
    expected.resize(16, 3);
    ASSERT_EQ(row(batch.input_ids, i), expected) << "verse " << i << ": " << verses[size_t(i)];
  }
  EXPECT_GT(truncated, 3000);
}

TEST(MlmDataset, PerDocumentMaskingStatisticsAndPaddingOnRealText) {
  // The 30% / 80-10-10 statistics hold per document too, and the padding is exactly what the
  // verse lengths leave: T - 2 - min(tokens, T - 2) per example.
  const std::string shards = kjv_verse_shards();
  MlmOptions o = kjv_options(64);
  o.per_document = true;
  MlmDataset data(TokenShards(shards), o);
  const TokenShards& s = data.shards();
  int64_t expected_padding = 0;
  for (int64_t d = 0; d < s.num_documents(); ++d) {
    const auto [start, end] = s.document(d);
    expected_padding += 62 - std::min<int64_t>(end - start - 1, 62);
  }
  const int64_t padding = expect_mask_statistics(data);
  EXPECT_EQ(padding, expected_padding);
  const double fraction = double(padding) / double(data.num_examples() * 64);
  RecordProperty("padding_percent", int(fraction * 100));
  EXPECT_GT(fraction, 0.1);  // most verses are shorter than 62 tokens (15.6% padding measured)
  EXPECT_LT(fraction, 0.3);
}

TEST(MlmDataset, DeterministicPerExampleAndIndependentOfTheBatch) {
  MlmDataset data(TokenShards(kjv_shards()), kjv_options(64));
  MlmBatch a = data.get_batch({5, 17, 3, 900});
  MlmBatch again = MlmDataset(TokenShards(kjv_shards()), kjv_options(64)).get_batch({5, 17, 3, 900});
  EXPECT_EQ(a.input_ids.to_vector(), again.input_ids.to_vector());
  EXPECT_EQ(a.labels.to_vector(), again.labels.to_vector());
  // Example 3 alone, or among other examples, is masked identically.
  MlmBatch alone = data.get_batch({3});
  MlmBatch other = data.get_batch({42, 3, 3});
  for (const MlmBatch* b : {&alone, &other}) {
    const int64_t r = b == &alone ? 0 : 1;
    EXPECT_EQ(row(b->input_ids, r), row(a.input_ids, 2));
    EXPECT_EQ(row(b->labels, r), row(a.labels, 2));
  }
  EXPECT_EQ(row(other.labels, 1), row(other.labels, 2));
  // Another seed or another epoch gives another mask over the same tokens.
  MlmBatch seeded = MlmDataset(TokenShards(kjv_shards()), kjv_options(64, 8)).get_batch({5, 17, 3, 900});
  MlmBatch epoch1 = data.get_batch({5, 17, 3, 900}, 1);
  EXPECT_NE(a.labels.to_vector(), seeded.labels.to_vector());
  EXPECT_NE(a.labels.to_vector(), epoch1.labels.to_vector());
  EXPECT_EQ(a.attention_mask.to_vector(), seeded.attention_mask.to_vector());
  EXPECT_EQ(data.get_batch({5, 17, 3, 900}, 1).labels.to_vector(), epoch1.labels.to_vector());
}

TEST(MlmDataset, WholeWordMaskingSelectsWordsTogether) {
  MlmOptions o = kjv_options(128, 3);
  o.whole_word = true;
  const int64_t vocab = TokenShards(kjv_shards()).vocab_size();
  o.is_continuation.assign(size_t(vocab), false);
  for (int64_t id = 5; id < vocab; ++id) o.is_continuation[size_t(id)] = id % 3 == 0;  // a made-up predicate
  MlmDataset data(TokenShards(kjv_shards()), o);
  const int64_t n = data.num_examples(), T = data.seq_len();
  MlmBatch batch = data.get_batch(iota(n));
  int64_t words = 0, selected_words = 0, multi_token_words = 0;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<double> original = data.example_ids(i).to_vector();
    int64_t prev_selected = -1;  // -1: no word open
    for (int64_t t = 0; t < T; ++t) {
      const int64_t id = int64_t(original[size_t(t)]);
      const bool sel = batch.labels.at({i, t}) != -100.0;
      if (data.is_special(id)) {
        ASSERT_FALSE(sel);
        prev_selected = -1;
        continue;
      }
      if (prev_selected >= 0 && o.is_continuation[size_t(id)]) {
        ASSERT_EQ(int64_t(sel), prev_selected) << "word split at example " << i << " position " << t;
        ++multi_token_words;
        continue;
      }
      ++words;
      selected_words += sel;
      prev_selected = sel;
    }
  }
  RecordProperty("words", int(words));
  RecordProperty("selected_words", int(selected_words));
  ASSERT_GE(words, 50'000);
  EXPECT_GT(multi_token_words, 10'000);
  EXPECT_NEAR(double(selected_words) / double(words), 0.30, 0.01);
}

TEST(MlmDataset, BadOptionsAreConfigErrors) {
  const std::string shards = kjv_shards();
  auto make = [&](void (*edit)(MlmOptions&)) {
    MlmOptions o = kjv_options();
    edit(o);
    MlmDataset data(TokenShards(shards), o);
  };
  using linea::testing::expect_error;
  expect_error<ConfigError>([&] { make([](MlmOptions& o) { o.seq_len = 2; }); }, "seq_len 2");
  expect_error<ConfigError>([&] { make([](MlmOptions& o) { o.mask_ratio = 1.5; }); }, "mask_ratio 1.5");
  expect_error<ConfigError>([&] { make([](MlmOptions& o) { o.replace_random = 0.3; }); }, "sum to at most 1");
  expect_error<ConfigError>([&] { make([](MlmOptions& o) { o.mask_id = 7; }); }, "mask_id 7");
  expect_error<ConfigError>([&] { make([](MlmOptions& o) { o.cls_id = -1; }); }, "cls_id -1");
  expect_error<ConfigError>([&] { make([](MlmOptions& o) { o.first_normal_id = 500; }); }, "first_normal_id 500");
  expect_error<ConfigError>([&] { make([](MlmOptions& o) { o.whole_word = true; }); }, "is_continuation");
  MlmDataset data(TokenShards(shards), kjv_options());
  EXPECT_THROW(data.get_batch({0}, -1), ConfigError);
}
