// MlmDataset: packed windows or documents into [CLS] ... [SEP] rows and the counter-based BERT
// masking (one Philox block per (epoch, example, position): lanes select, split, random id).
#include "data/mlm_dataset.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/philox.h"

namespace linea {

namespace {

constexpr int64_t kIgnoreLabel = -100;
constexpr uint64_t kEpochShift = 40;  // counters per epoch: example * T stays below 2^40

}  // namespace

MlmDataset::MlmDataset(TokenShards shards, MlmOptions options)
    : shards_(std::move(shards)), options_(std::move(options)) {
  const MlmOptions& o = options_;
  const int64_t vocab = shards_.vocab_size();
  LINEA_CHECK_T(ConfigError, o.seq_len >= 3, "MLM seq_len ", o.seq_len, ", expected >= 3 ([CLS], a token, [SEP])");
  auto probability = [](double p) { return p >= 0.0 && p <= 1.0; };
  LINEA_CHECK_T(ConfigError, probability(o.mask_ratio), "MLM mask_ratio ", o.mask_ratio, " is outside [0, 1]");
  LINEA_CHECK_T(ConfigError,
                probability(o.replace_mask) && probability(o.replace_random) &&
                    o.replace_mask + o.replace_random <= 1.0 + 1e-12,
                "MLM replace_mask ", o.replace_mask, " and replace_random ", o.replace_random,
                " must be in [0, 1] and sum to at most 1");
  LINEA_CHECK_T(ConfigError, o.first_normal_id >= 0 && o.first_normal_id < vocab, "MLM first_normal_id ",
                o.first_normal_id, " must be in [0, vocab_size ", vocab, ")");
  special_.assign(size_t(o.first_normal_id), false);
  auto add_special = [&](const char* name, int64_t id) {
    LINEA_CHECK_T(ConfigError, id >= 0 && id < o.first_normal_id, "MLM ", name, " ", id,
                  " must be a special id in [0, first_normal_id ", o.first_normal_id, ")");
    special_[size_t(id)] = true;
  };
  add_special("cls_id", o.cls_id);
  add_special("sep_id", o.sep_id);
  add_special("pad_id", o.pad_id);
  add_special("mask_id", o.mask_id);
  for (int64_t id : o.extra_special_ids) add_special("extra special id", id);
  if (o.whole_word)
    LINEA_CHECK_T(ConfigError, int64_t(o.is_continuation.size()) == vocab, "MLM whole_word needs is_continuation of ",
                  "size vocab_size ", vocab, ", got ", o.is_continuation.size());
  const int64_t window = o.seq_len - 2, total = shards_.total_tokens();
  LINEA_CHECK_T(DataError, total >= 1, shards_.dir(), ": no tokens for MLM examples");
  num_examples_ = o.per_document ? shards_.num_documents() : (total + window - 1) / window;
  LINEA_CHECK_T(ConfigError, num_examples_ <= (int64_t(1) << kEpochShift) / o.seq_len, shards_.dir(), ": ",
                num_examples_, " MLM examples of seq_len ", o.seq_len, " exceed the 2^40 Philox counters of an epoch");
}

Tensor MlmDataset::example_ids(int64_t index, int64_t* length) const {
  const int64_t T = options_.seq_len, window = T - 2;
  LINEA_CHECK_T(DataError, index >= 0 && index < num_examples_, "MLM example index ", index, " is outside the ",
                num_examples_, " examples of seq_len ", T, " in ", shards_.dir());
  int64_t start = index * window, count = std::min(window, shards_.total_tokens() - start);
  bool check_eos = false;
  if (options_.per_document) {
    const auto [doc_start, doc_end] = shards_.document(index);
    const int64_t content = doc_end - doc_start - (shards_.append_eos() ? 1 : 0);
    start = doc_start;
    count = std::min(window, content);
    // A document that fits is read with its eos, checked: a wrong append_eos would drop a token.
    check_eos = shards_.append_eos() && count == content;
  }
  Tensor tokens = shards_.read(start, count + (check_eos ? 1 : 0));
  if (check_eos) {
    const int64_t last = tokens.data<int64_t>()[count];
    LINEA_CHECK_T(DataError, last == shards_.eos_id(), shards_.dir(), ": document ", index, " ends with id ", last,
                  ", expected the eos id ", shards_.eos_id(), " since its shards have append_eos");
  }
  Tensor row = Tensor::full({T}, double(options_.pad_id), DType::i64);
  int64_t* r = row.data<int64_t>();
  r[0] = options_.cls_id;
  std::memcpy(r + 1, tokens.data<int64_t>(), size_t(count) * sizeof(int64_t));
  r[count + 1] = options_.sep_id;
  if (length) *length = count + 2;
  return row;
}

void MlmDataset::mask_row(int64_t index, int64_t epoch, int64_t len, int64_t* ids, int64_t* labels) const {
  const MlmOptions& o = options_;
  const uint64_t seed = o.seed;
  const uint64_t offset = (uint64_t(epoch) << kEpochShift) + uint64_t(index) * uint64_t(o.seq_len);
  const uint64_t normal_count = uint64_t(shards_.vocab_size() - o.first_normal_id);
  auto draw = [&](int64_t t, int lane) { return Philox4x32::word(seed, offset, 4 * uint64_t(t) + uint64_t(lane)); };
  bool word_selected = false, in_word = false;  // in_word: the previous (original) token is normal
  for (int64_t t = 0; t < len; ++t) {
    const int64_t id = ids[t];
    labels[t] = kIgnoreLabel;
    if (is_special(id)) {
      in_word = false;  // a special token ends any word
      continue;
    }
    // Whole words: a continuation token after a normal token shares that word's draw.
    const bool continues = o.whole_word && in_word && o.is_continuation[size_t(id)];
    in_word = true;
    if (!continues) word_selected = double(uniform_from_word(draw(t, 0))) < o.mask_ratio;
    if (!word_selected) continue;
    labels[t] = id;
    const double split = double(uniform_from_word(draw(t, 1)));
    if (split < o.replace_mask)
      ids[t] = o.mask_id;
    else if (split < o.replace_mask + o.replace_random)
      ids[t] = o.first_normal_id + int64_t((uint64_t(draw(t, 2)) * normal_count) >> 32);
  }
}

MlmBatch MlmDataset::get_batch(const std::vector<int64_t>& indices, int64_t epoch) const {
  LINEA_CHECK_T(ConfigError, epoch >= 0 && epoch < (int64_t(1) << 23), "MLM epoch ", epoch, " is outside [0, 2^23)");
  const int64_t B = int64_t(indices.size()), T = options_.seq_len;
  MlmBatch batch{Tensor::empty({B, T}, DType::i64), Tensor::empty({B, T}, DType::i64),
                 Tensor::zeros({B, T}, DType::u8)};
  int64_t* ids = batch.input_ids.data<int64_t>();
  int64_t* labels = batch.labels.data<int64_t>();
  uint8_t* mask = batch.attention_mask.data<uint8_t>();
  for (int64_t b = 0; b < B; ++b) {
    const int64_t i = indices[size_t(b)];
    int64_t len = 0;
    Tensor row = example_ids(i, &len);
    std::memcpy(ids + b * T, row.data<int64_t>(), size_t(T) * sizeof(int64_t));
    std::fill(labels + b * T + len, labels + (b + 1) * T, kIgnoreLabel);
    std::fill(mask + b * T, mask + b * T + len, uint8_t(1));
    mask_row(i, epoch, len, ids + b * T, labels + b * T);
  }
  return batch;
}

}  // namespace linea
