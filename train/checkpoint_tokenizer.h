// The tokenizer that goes with a checkpoint, found the same way by `generate` and `export`:
// --tokenizer when given, else the recipe's data.tokenizer, else the copy the checkpoint
// carries (/tokenizer, from `linea import`), else the training shards' own. Its sha256 must
// be the one the checkpoint recorded when it recorded one.
#pragma once
#include <memory>
#include <string>

#include "configs/config.h"
#include "data/text_tokenizer.h"
#include "train/checkpoint.h"

namespace linea {

// `command` prefixes the errors ("generate", "export"). DataError when none can be found or
// the one found is not the checkpoint's.
StoredTokenizer checkpoint_tokenizer_file(const std::string& checkpoint, const Config& cfg, const TrainerState& state,
                                          const std::string& given, const char* command);

// A tokenizer file as stored (`kind`, the file's bytes) read into a `file_name` spec;
// StoredTokenizer of a path: its kind by load_tokenizer's rules.
StoredTokenizer tokenizer_file(const std::string& spec);
std::unique_ptr<TextTokenizer> load_stored_tokenizer(const StoredTokenizer& t);

}  // namespace linea
