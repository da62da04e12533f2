// The `linea` subcommands eval, info and prepare (train is in trainer.h, plot in plot.h).
// Each returns the process exit code and throws linea errors for bad input.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace linea {

// `linea eval`'s automatic batch: windows per forward make about this many tokens (measured
// on the quickstart: 8 windows of 256 took 44.5 s, 32 took 14.1 s, the same result).
constexpr int64_t kEvalTokensPerBatch = 8192;

struct EvalCommand {
  std::string checkpoint;  // a checkpoint, a run directory or its `latest` file
  std::string data;        // "": the checkpoint recipe's data.valid
  int64_t seq_len = 0;     // 0: the recipe's data.seq_len
  int64_t stride = 0;      // 0: seq_len (disjoint windows)
  int64_t batch = 0;       // 0: kEvalTokensPerBatch / seq_len windows
  std::string device;      // "": the recipe's train.device
  // Perplexity against context length (context_length_eval.h) instead of one window length:
  std::vector<int64_t> context_lengths;  // parse_context_lengths; empty for a plain evaluation
  int64_t score_last = 0;       // targets per window; 0: half the shortest length
  std::string output;           // "": the table is only printed; else also written as JSON lines
};
int run_eval(const EvalCommand& cmd);

// A checkpoint (file, run directory or `latest`), or token shards (a shard file or folder).
// verify: read them completely instead, checking every checksum (exit 2 when damaged).
int run_info(const std::string& path, bool verify);

struct PrepareCommand {
  // --synthetic mqar|palindrome|stack: examples of a synthetic task (data/synthetic_shards.h)
  // instead of tokenized text, with the settings below; 0, -1 and "" mean not given.
  std::string synthetic;
  int64_t vocab = 0, seq_len = 0, examples = 0, pairs = 0;
  int64_t seed = -1;
  std::string query_layout;        // mqar: zoology (default) or after_sep
  std::string random_non_queries;  // mqar: true (default) or false
  std::string tokenizer;              // load_tokenizer spec; a SentencePiece .model is created when train_vocab > 0
  int64_t train_vocab = 0;            // > 0: train the tokenizer on the inputs first
  std::vector<std::string> inputs;
  std::string output;
  int64_t shard_tokens = 100'000'000;
  std::string format = "auto";        // text, jsonl or auto (by extension)
  std::string text_field = "text";    // the JSONL field holding each document
  std::string prompt_field;           // JSONL: the prompt before text_field (no loss on it); "": none
  bool replace_invalid_utf8 = false;  // U+FFFD instead of an error
  bool force = false;                 // replace shards already in the output folder
  int threads = 0;                    // encoding threads; 0: all cores
  bool progress = false;              // progress on stderr even when it is not a terminal
  double valid_fraction = 0;          // > 0: this fraction of the documents goes to valid_output
  std::string valid_output;
  uint64_t split_seed = 0;
};
int run_prepare(const PrepareCommand& cmd);

}  // namespace linea
