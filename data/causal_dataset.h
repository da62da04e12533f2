// PackedCausalDataset: the token stream cut into causal LM windows of seq_len + 1 tokens
// (window i = tokens [i*T, i*T + T + 1)), batched as inputs and next-token targets, with
// optional loss masking where a target starts a new document, and no loss on prompt tokens
// when the shards mark them (prepare --prompt-field: only responses are targets).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "data/token_shards.h"

namespace linea {

// Both [B, T] i64 on the CPU; targets are inputs shifted left by one token, or
// kIgnoreTarget where masked.
struct CausalBatch {
  Tensor inputs;
  Tensor targets;
};

// The target value cross-entropy skips (its ignore_index).
constexpr int64_t kIgnoreTarget = -100;

// Shards of a synthetic task hold examples of L tokens (TokenShards::example_tokens); windows
// fit them, window i being example i, only with seq_len L and stride L. ConfigError otherwise,
// prefixed by `where`; nothing to check for shards of text.
void check_windows_are_examples(const TokenShards& shards, int64_t seq_len, int64_t stride, const std::string& where);

class PackedCausalDataset {
 public:
  // DataError when the stream is shorter than one window of seq_len + 1 tokens. With
  // mask_document_boundaries, a target that is the first token of a document (predicted
  // from the previous document's tokens, e.g. its eos) becomes kIgnoreTarget; the inputs
  // are unchanged (attention still sees across the boundary). It needs the shards' document
  // boundaries: DataError naming the shard without /doc_offsets. Synthetic-task shards need
  // seq_len = their example length (check_windows_are_examples).
  PackedCausalDataset(TokenShards shards, int64_t seq_len, bool mask_document_boundaries = false);

  int64_t num_examples() const { return num_examples_; }  // (total_tokens - 1) / seq_len
  int64_t seq_len() const { return seq_len_; }
  bool mask_document_boundaries() const { return mask_document_boundaries_; }
  const TokenShards& shards() const { return shards_; }

  // Rows in the order of `indices`; DataError for an index outside [0, num_examples).
  CausalBatch get_batch(const std::vector<int64_t>& indices) const;

 private:
  TokenShards shards_;
  int64_t seq_len_;
  bool mask_document_boundaries_;
  int64_t num_examples_;
};

}  // namespace linea
