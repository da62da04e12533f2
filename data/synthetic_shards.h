// `linea prepare --synthetic`: examples of a synthetic task (data/synthetic_tasks.h) written as
// an ordinary token shard with a /loss_mask on the answers, laid out so that the causal
// dataset's windows of seq_len + 1 tokens are exactly the examples.
#pragma once
#include <cstdint>
#include <string>

#include "data/synthetic_tasks.h"

namespace linea {

// Root attributes of a synthetic shard, beside those of prepare.h: the task's name, its
// settings as a JSON object (task, vocab_size, seq_len, examples, seed; mqar adds pairs,
// query_layout, power_a, random_non_queries) and the tokens per example.
constexpr const char* kSyntheticTaskAttr = "synthetic_task";
constexpr const char* kSyntheticSettingsAttr = "synthetic_settings";
constexpr const char* kExampleTokensAttr = "example_tokens";

struct SyntheticShardOptions {
  SyntheticTaskOptions task;
  int64_t examples = 0;
  std::string output_dir;
  bool force = false;  // replace shards already in output_dir
};

struct SyntheticShardSummary {
  std::string shard_path;
  int64_t tokens = 0;  // examples * seq_len + 1
  int64_t scored = 0;  // targets with loss mask 1
};

// Everything write_synthetic_shards refuses, checked before anything is written: the task's
// preconditions (ConfigError), examples >= 1, an output folder, and existing shards there
// without force (DataError, as prepare).
void check_synthetic_shard_options(const SyntheticShardOptions& options);

// One shard, output_dir/shard_00000.h5: /tokens holds examples 0 ... N-1 of the task back to
// back (example i at [i*L, (i+1)*L)) and then one 0, so that window i of a causal dataset with
// seq_len L (tokens [i*L, i*L + L + 1)) is example i plus the first token of the next, whose
// target is never scored. /loss_mask is the examples' scored flags (0 on that extra token);
// each example is a document in /doc_offsets (the last one holds the extra token). The
// tokenizer is the task's own vocabulary, named "synthetic <task> vocab <V>" (no file):
// tokenizer_kind "synthetic", tokenizer_sha256 the digest of that name, so train and test sets
// of one task and vocabulary go together and others are refused; no bos/eos/unk, pad 0, no
// eos appended.
// Written under a temporary name and renamed; on any error nothing is left behind.
SyntheticShardSummary write_synthetic_shards(const SyntheticShardOptions& options);

}  // namespace linea
