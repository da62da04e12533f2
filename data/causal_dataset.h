// PackedCausalDataset: the token stream cut into causal LM windows of seq_len + 1 tokens
// (window i = tokens [i*T, i*T + T + 1)), batched as inputs and next-token targets.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "data/token_shards.h"

namespace linea {

// Both [B, T] i64 on the CPU; targets are inputs shifted left by one token.
struct CausalBatch {
  Tensor inputs;
  Tensor targets;
};

class PackedCausalDataset {
 public:
  // DataError when the stream is shorter than one window of seq_len + 1 tokens.
  PackedCausalDataset(TokenShards shards, int64_t seq_len);

  int64_t num_examples() const { return num_examples_; }  // (total_tokens - 1) / seq_len
  int64_t seq_len() const { return seq_len_; }
  const TokenShards& shards() const { return shards_; }

  // Rows in the order of `indices`; DataError for an index outside [0, num_examples).
  CausalBatch get_batch(const std::vector<int64_t>& indices) const;

 private:
  TokenShards shards_;
  int64_t seq_len_;
  int64_t num_examples_;
};

}  // namespace linea
