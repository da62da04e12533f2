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
  std::string tokenizer_model;           // a load_tokenizer spec: .model, tokenizer.json, vocab.txt, kind:path
  std::vector<std::string> input_files;  // read by DocumentReader (text, JSONL, .gz)
  std::string output_dir;
  int64_t shard_tokens = 100'000'000;    // tokens per shard (the last may hold fewer)
  bool append_eos = true;                // eos after every document
  ReaderOptions reader;                  // format, JSONL text field, invalid UTF-8 handling
  bool force = false;                    // replace shards already in output_dir
  int threads = 0;                       // encoding threads; 0: all cores
  bool progress = false;                 // progress lines on stderr (see prepare_shards)
  // Document split: a document goes to valid_output_dir when the Philox hash of (its index
  // among all documents read, split_seed) falls below valid_fraction. 0: no split.
  double valid_fraction = 0;
  std::string valid_output_dir = {};
  uint64_t split_seed = 0;
};

struct PrepareSummary {
  std::vector<std::string> shard_paths;
  int64_t num_tokens = 0;     // in shard_paths
  int64_t num_documents = 0;  // in shard_paths
  // The validation split (empty and 0 without one).
  std::vector<std::string> valid_shard_paths;
  int64_t valid_num_tokens = 0, valid_num_documents = 0;
  // Tokens per document of every document read (both splits, eos included): nearest-rank
  // percentiles and the maximum.
  int64_t doc_tokens_p50 = 0, doc_tokens_p90 = 0, doc_tokens_p99 = 0, doc_tokens_max = 0;
};

// Each shard_NNNNN.h5 holds /tokens (u16 when vocab <= 65536, else u32), /doc_offsets
// (i64: the local start of every document piece in the shard, 0 for a continuation from the
// previous shard, then the shard's length) and root attributes format, format_version,
// shard_index, first_document_continued, append_eos, tokenizer (the file, without a kind:
// prefix), tokenizer_kind (TextTokenizer::kind), tokenizer_sha256 (of the file), vocab_size,
// bos/eos/pad/unk_id (see TextTokenizer) and sources (JSON list of {path, sha256}).
// Documents are those of DocumentReader in file order, each encoded and followed by eos if
// append_eos; shards are cut at exactly shard_tokens. An output_dir already holding shards
// is refused unless force; then shards are renamed into place only when all are complete,
// older extra shards removed. On any error nothing is left behind. DataError for bad inputs.
// With valid_fraction > 0 the documents are split between output_dir and valid_output_dir
// (each written as above, both in the one pass); DataError when either split is empty.
// Documents are read in order on one thread, encoded in batches on `threads` threads and
// written in document order, so the shards are byte-identical for any thread count. With
// progress, a line on stderr at most 4 times a second (overwritten in place when stderr is a
// terminal): bytes read, documents, tokens, MB/s and the ETA, where the total is the sum of
// the input file sizes (compressed sizes for .gz files, as are the bytes read).
PrepareSummary prepare_shards(const PrepareOptions& options);
// The checks prepare_shards starts with (inputs exist, shard size, threads, split fraction
// and folders, an output folder holding shards needs force), for callers that do expensive work first (training a tokenizer).
void check_prepare_options(const PrepareOptions& options);
// How many shard_*.h5 files `dir` holds (0 when it does not exist): what --force would replace.
int64_t count_token_shards(const std::string& dir);

}  // namespace linea
