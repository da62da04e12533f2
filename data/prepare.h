// prepare_shards: text files -> HDF5 token shards (/tokens, /doc_offsets and provenance
// attributes), written atomically into a folder that TokenShards reads.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace linea {

constexpr const char* kTokenShardFormat = "linea-token-shard";
constexpr int64_t kTokenShardFormatVersion = 1;

struct PrepareOptions {
  std::string tokenizer_model;           // a SentencePiece .model
  std::vector<std::string> input_files;  // plain text; documents are blank-line separated
  std::string output_dir;
  int64_t shard_tokens = 100'000'000;    // tokens per shard (the last may hold fewer)
  bool append_eos = true;                // eos after every document
};

struct PrepareSummary {
  std::vector<std::string> shard_paths;
  int64_t num_tokens = 0;
  int64_t num_documents = 0;
};

// Each shard_NNNNN.h5 holds /tokens (u16 when vocab <= 65536, else u32), /doc_offsets
// (i64: the local start of every document piece in the shard, 0 for a continuation from the
// previous shard, then the shard's length) and root attributes format, format_version,
// shard_index, first_document_continued, append_eos, tokenizer, tokenizer_sha256,
// vocab_size, bos/eos/pad/unk_id and sources (JSON list of {path, sha256}).
// Documents are paragraphs (runs of non-blank lines joined with '\n') in file order, each
// encoded and followed by eos if append_eos; shards are cut at exactly shard_tokens.
// Shards are renamed into place only when all are complete, older extra shards removed;
// on any error nothing is left behind. DataError for bad inputs.
PrepareSummary prepare_shards(const PrepareOptions& options);

}  // namespace linea
