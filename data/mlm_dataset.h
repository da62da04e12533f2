// MlmDataset: [CLS] tokens [SEP] [PAD]... examples, either packed windows of the token stream or one
// per document, with BERT masking (Bernoulli selection, 80/10/10) drawn from Philox keyed by
// (seed, epoch, example, position).
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "data/token_shards.h"

namespace linea {

struct MlmOptions {
  double mask_ratio = 0.30;      // per-token selection probability (in expectation, as HF/MosaicBERT)
  double replace_mask = 0.8;     // of selected tokens: -> mask_id
  double replace_random = 0.1;   // of selected tokens: -> uniform id in [first_normal_id, vocab); rest kept
  int64_t seq_len = 128;         // T, including [CLS] and [SEP]; >= 3
  bool whole_word = false;       // select words (a token plus its continuation tokens) instead of tokens
  bool per_document = false;     // one example per document (MosaicBERT) instead of packed windows
  uint64_t seed = 0;
  // Special ids, all in [0, first_normal_id): never selected, never drawn as random replacements.
  int64_t cls_id = -1, sep_id = -1, pad_id = -1, mask_id = -1;
  std::vector<int64_t> extra_special_ids;  // e.g. [UNK]; also never selected
  int64_t first_normal_id = 0;             // random replacements come from [first_normal_id, vocab_size)
  std::vector<bool> is_continuation;       // size vocab_size when whole_word (e.g. WordPiece "##" pieces)
};

// All [B, T] on the CPU. labels: the original id where selected, -100 elsewhere.
// attention_mask: 1 for [CLS], window tokens and [SEP]; 0 for pad.
struct MlmBatch {
  Tensor input_ids;       // i64
  Tensor labels;          // i64
  Tensor attention_mask;  // u8
};

// Examples are laid out as [CLS] tokens [SEP] [PAD]... with W = seq_len - 2 tokens at most:
// - packed (default): example i holds stream tokens [i*W, min((i+1)*W, total)); only the last
//   example can be short, and documents run into each other (with prepare's eos between them);
// - per_document (MosaicBERT's samples): example i holds the first W tokens of document i of
//   the shards, the rest of a longer document is discarded; the eos prepare appended at each
//   document's end (shards with append_eos) is dropped, so it never appears in an example. A
//   document of only that eos gives [CLS] [SEP] [PAD]....
// Masking is a pure function of (seed, epoch, example index, position): identical across runs,
// devices and ranks, and independent of which other examples share the batch. Pass the epoch
// for dynamic masking (a fresh mask each epoch, as MosaicBERT's on-the-fly collator).
class MlmDataset {
 public:
  // ConfigError for bad options (seq_len < 3, probabilities outside [0, 1] or
  // replace_mask + replace_random > 1, special ids missing or not below first_normal_id,
  // first_normal_id >= vocab_size, is_continuation of the wrong size); DataError for an empty stream,
  // and for per_document on shards without document boundaries (naming the shard).
  MlmDataset(TokenShards shards, MlmOptions options);

  // Packed: ceil(total_tokens / (seq_len - 2)); per_document: the shards' num_documents().
  int64_t num_examples() const { return num_examples_; }
  int64_t seq_len() const { return options_.seq_len; }
  const MlmOptions& options() const { return options_; }
  const TokenShards& shards() const { return shards_; }

  // Rows in the order of `indices`; DataError for an index outside [0, num_examples).
  MlmBatch get_batch(const std::vector<int64_t>& indices, int64_t epoch = 0) const;

  // The unmasked ids of example i ([CLS] ... [SEP] pads) as a [T] i64 tensor, and its
  // real length (tokens before the padding).
  Tensor example_ids(int64_t index, int64_t* length = nullptr) const;

  bool is_special(int64_t id) const { return id < 0 || id >= int64_t(special_.size()) ? false : special_[size_t(id)]; }

 private:
  // Masks row `ids` (length T, `len` real tokens) of example `index` in place into labels.
  void mask_row(int64_t index, int64_t epoch, int64_t len, int64_t* ids, int64_t* labels) const;

  TokenShards shards_;
  MlmOptions options_;
  int64_t num_examples_ = 0;
  std::vector<bool> special_;  // indexed by id, size first_normal_id
};

}  // namespace linea
