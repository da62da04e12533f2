// prepare_shards: text or JSONL corpora -> HDF5 token shards (/tokens, /doc_offsets and provenance
// attributes), written atomically into a folder that TokenShards reads.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/readers.h"

namespace linea {

constexpr const char* kTokenShardFormat = "linea-token-shard";
constexpr int64_t kTokenShardFormatVersion = 1;

struct PrepareOptions {
  std::string tokenizer_model;           // a SentencePiece .model
  std::vector<std::string> input_files;  // read by DocumentReader (text, JSONL, .gz)
  std::string output_dir;
  int64_t shard_tokens = 100'000'000;    // tokens per shard (the last may hold fewer)
  bool append_eos = true;                // eos after every document
  ReaderOptions reader;                  // format, JSONL text field, invalid UTF-8 handling
  bool force = false;                    // replace shards already in output_dir
};

struct PrepareSummary {
  std::vector<std::string> shard_paths;
  int64_t num_tokens = 0;
  int64_t num_documents = 0;
  // Tokens per document (eos included): nearest-rank percentiles and the maximum.
  int64_t doc_tokens_p50 = 0, doc_tokens_p90 = 0, doc_tokens_p99 = 0, doc_tokens_max = 0;
};

// Each shard_NNNNN.h5 holds /tokens (u16 when vocab <= 65536, else u32), /doc_offsets
// (i64: the local start of every document piece in the shard, 0 for a continuation from the
// previous shard, then the shard's length) and root attributes format, format_version,
// shard_index, first_document_continued, append_eos, tokenizer, tokenizer_sha256,
// vocab_size, bos/eos/pad/unk_id and sources (JSON list of {path, sha256}).
// Documents are those of DocumentReader in file order, each encoded and followed by eos if
// append_eos; shards are cut at exactly shard_tokens. An output_dir already holding shards
// is refused unless force; then shards are renamed into place only when all are complete,
// older extra shards removed. On any error nothing is left behind. DataError for bad inputs.
PrepareSummary prepare_shards(const PrepareOptions& options);
// The checks prepare_shards starts with (inputs exist, shard size, an output folder holding
// shards needs force), for callers that do expensive work first (training a tokenizer).
void check_prepare_options(const PrepareOptions& options);

}  // namespace linea
