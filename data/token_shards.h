// TokenShards: a folder of HDF5 token shards written by `prepare`, checked to agree on
// tokenizer and vocabulary, read as one token stream by range, with the document
// boundaries of that stream.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace linea {

class H5File;

class TokenShards {
 public:
  // Opens every shard_*.h5 in `dir` (name order) and checks their attributes; DataError
  // for a missing folder, no shards, foreign files, another format version, disagreements,
  // and /doc_offsets that do not describe the shard (see prepare.h for the layout). Reads
  // every shard's /doc_offsets once into the global document boundaries.
  explicit TokenShards(const std::string& dir);
  // The shard_*.h5 files of `dir` in name order; DataError for a missing folder or none.
  static std::vector<std::string> files(const std::string& dir);

  int64_t total_tokens() const { return total_tokens_; }
  int64_t vocab_size() const { return vocab_size_; }
  int64_t bos_id() const { return bos_id_; }
  int64_t eos_id() const { return eos_id_; }
  int64_t pad_id() const { return pad_id_; }
  int64_t unk_id() const { return unk_id_; }
  const std::string& tokenizer_sha256() const { return tokenizer_sha256_; }
  const std::string& tokenizer() const { return tokenizer_; }  // model path given to prepare ("" if absent)
  const std::string& tokenizer_kind() const { return tokenizer_kind_; }  // TextTokenizer::kind ("" if absent)
  // Whether prepare appended eos after every document (the last token of each document).
  bool append_eos() const { return append_eos_; }
  const std::string& dir() const { return dir_; }
  int64_t num_shards() const { return int64_t(shards_.size()); }
  const std::string& shard_path(int64_t i) const;

  // Tokens [start, start + count) of the whole stream as an i64 CPU tensor [count]; reads
  // only the shards the range touches. DataError for a range outside the stream or a
  // token id >= vocab_size (naming the shard and position).
  Tensor read(int64_t start, int64_t count) const;

  // Shards of prompted documents (prepare --prompt-field) carry /loss_mask: 1 where a token
  // counts as a target, 0 on prompt tokens (synthetic tasks: 1 on the answers only). Mixed shards (some with, some without) are refused.
  bool has_loss_mask() const { return loss_mask_; }
  // The mask over [start, start + count), as read() (DataError without a mask).
  Tensor read_loss_mask(int64_t start, int64_t count) const;

  // Shards of a synthetic task (prepare --synthetic, data/synthetic_shards.h): its name and
  // settings (JSON), and L, the tokens of each example (example i is [i*L, (i+1)*L)); "", ""
  // and 0 for shards of text. Shards that disagree on them are refused.
  const std::string& synthetic_task() const { return synthetic_task_; }
  const std::string& synthetic_settings() const { return synthetic_settings_; }
  int64_t example_tokens() const { return example_tokens_; }

 private:
  // Elements [start, start + count) of one stream across the shards; `vocab_check` refuses
  // token ids outside the vocabulary.
  Tensor read_stream(const char* stream, int64_t start, int64_t count, bool vocab_check) const;

 public:
  // Document boundaries in the global stream, a document continued across shards counted
  // once; empty documents are not counted. Documents tile the stream: document(0) starts
  // at 0, each starts where the previous ends, the last ends at total_tokens().
  // DataError (naming the shard) when a shard has no /doc_offsets (hand-made shards).
  bool has_documents() const { return documents_error_.empty(); }
  int64_t num_documents() const;
  // [start, end) of document i (eos included when append_eos); DataError outside [0, num_documents).
  std::pair<int64_t, int64_t> document(int64_t i) const;
  // The index of the document holding stream position pos; DataError outside the stream.
  int64_t document_at(int64_t pos) const;

 private:
  struct Shard {
    std::string path;
    int64_t begin = 0;   // global position of its first token
    int64_t length = 0;  // tokens in it
  };

  // Appends the document starts of shard `f` (about to begin at total_tokens_).
  void add_documents(const H5File& f, int64_t length);

  std::string dir_;
  std::vector<Shard> shards_;
  int64_t total_tokens_ = 0;
  int64_t vocab_size_ = 0, bos_id_ = -1, eos_id_ = -1, pad_id_ = -1, unk_id_ = -1;
  std::string tokenizer_sha256_;
  std::string tokenizer_, tokenizer_kind_;
  bool append_eos_ = false;
  bool loss_mask_ = false;
  std::string synthetic_task_, synthetic_settings_;
  int64_t example_tokens_ = 0;
  std::vector<int64_t> doc_starts_;  // num_documents + 1 entries, the last total_tokens_
  std::string documents_error_;      // why there are no document boundaries ("" if there are)
};

}  // namespace linea
