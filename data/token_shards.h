// TokenShards: a folder of HDF5 token shards written by `prepare`, checked to agree on
// tokenizer and vocabulary, read as one token stream by range.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace linea {

class TokenShards {
 public:
  // Opens every shard_*.h5 in `dir` (name order) and checks their attributes; DataError
  // for a missing folder, no shards, foreign files, another format version, disagreements.
  explicit TokenShards(const std::string& dir);

  int64_t total_tokens() const { return total_tokens_; }
  int64_t vocab_size() const { return vocab_size_; }
  int64_t bos_id() const { return bos_id_; }
  int64_t eos_id() const { return eos_id_; }
  int64_t pad_id() const { return pad_id_; }
  int64_t unk_id() const { return unk_id_; }
  const std::string& tokenizer_sha256() const { return tokenizer_sha256_; }
  const std::string& tokenizer() const { return tokenizer_; }  // model path given to prepare ("" if absent)
  const std::string& dir() const { return dir_; }
  int64_t num_shards() const { return int64_t(shards_.size()); }
  const std::string& shard_path(int64_t i) const;

  // Tokens [start, start + count) of the whole stream as an i64 CPU tensor [count]; reads
  // only the shards the range touches. DataError for a range outside the stream or a
  // token id >= vocab_size (naming the shard and position).
  Tensor read(int64_t start, int64_t count) const;

 private:
  struct Shard {
    std::string path;
    int64_t begin = 0;   // global position of its first token
    int64_t length = 0;  // tokens in it
  };

  std::string dir_;
  std::vector<Shard> shards_;
  int64_t total_tokens_ = 0;
  int64_t vocab_size_ = 0, bos_id_ = -1, eos_id_ = -1, pad_id_ = -1, unk_id_ = -1;
  std::string tokenizer_sha256_;
  std::string tokenizer_;
};

}  // namespace linea
