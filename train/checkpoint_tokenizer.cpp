#include "train/checkpoint_tokenizer.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "core/error.h"
#include "data/sha256.h"
#include "data/token_shards.h"

namespace linea {
namespace {

namespace fs = std::filesystem;

// load_tokenizer's `kind:` prefix for a stored kind.
std::string spec_prefix(const StoredTokenizer& t) {
  if (t.kind == "sentencepiece") return "spm";
  if (t.kind == "bpe" || t.kind == "wordpiece" || t.kind == "wordpiece-cased") return t.kind;
  throw DataError(str_cat("tokenizer ", t.file_name, ": stored kind '", t.kind,
                          "', expected sentencepiece, bpe, wordpiece or wordpiece-cased"));
}

}  // namespace

StoredTokenizer tokenizer_file(const std::string& spec) {
  const TokenizerSpec s = parse_tokenizer_spec(spec);
  std::ifstream in(s.path, std::ios::binary);
  LINEA_CHECK_T(DataError, in.good(), "tokenizer ", s.path, ": cannot read it");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  StoredTokenizer t;
  t.kind = s.kind == "wordpiece" && !s.lowercase ? "wordpiece-cased" : s.kind;
  t.file_name = fs::path(s.path).filename().string();
  t.bytes = bytes.str();
  return t;
}

std::unique_ptr<TextTokenizer> load_stored_tokenizer(const StoredTokenizer& t) {
  // The loaders read files: the bytes go through a private temporary one, removed once loaded.
  std::string tmp = (fs::temp_directory_path() / "linea-tokenizer-XXXXXX").string();
  const int fd = ::mkstemp(tmp.data());
  LINEA_CHECK_T(DataError, fd >= 0, "tokenizer ", t.file_name, ": cannot create a temporary file in ",
                fs::temp_directory_path().string());
  const bool written = ::write(fd, t.bytes.data(), t.bytes.size()) == ssize_t(t.bytes.size());
  ::close(fd);
  try {
    LINEA_CHECK_T(DataError, written, "tokenizer ", t.file_name, ": cannot write ", tmp);
    std::unique_ptr<TextTokenizer> tok = load_tokenizer(spec_prefix(t) + ":" + tmp);
    std::remove(tmp.c_str());
    return tok;
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
}

StoredTokenizer checkpoint_tokenizer_file(const std::string& checkpoint, const Config& cfg, const TrainerState& state,
                                          const std::string& given, const char* command) {
  StoredTokenizer t;
  std::string source;
  std::string spec = given;
  if (spec.empty() && cfg.data.tokenizer) spec = *cfg.data.tokenizer;
  if (!spec.empty()) {
    t = tokenizer_file(spec);
    source = parse_tokenizer_spec(spec).path;
  } else if (std::optional<StoredTokenizer> stored = read_checkpoint_tokenizer(checkpoint)) {
    t = *stored;
    source = checkpoint + " (its stored " + t.file_name + ")";
  } else {
    try {
      TokenShards shards(cfg.data.train);
      spec = shards.tokenizer_kind().empty() ? shards.tokenizer()
                                             : (shards.tokenizer_kind() == "sentencepiece" ? "spm" : shards.tokenizer_kind()) +
                                                   ":" + shards.tokenizer();
    } catch (const Error& e) {
      throw DataError(str_cat(command, ": ", checkpoint, " names no tokenizer and its training shards (data.train: ",
                              cfg.data.train, ") cannot tell it (", e.what(), "); expected --tokenizer PATH"));
    }
    t = tokenizer_file(spec);
    source = parse_tokenizer_spec(spec).path;
  }
  const std::string sha = sha256_hex(t.bytes);
  LINEA_CHECK_T(DataError, state.tokenizer_sha256.empty() || sha == state.tokenizer_sha256, command, ": the tokenizer ",
                source, " (sha256 ", sha.substr(0, 12), ") is not the one ", checkpoint, " was trained with (sha256 ",
                state.tokenizer_sha256.substr(0, 12), ")");
  if (state.tokenizer_sha256.empty())
    std::fprintf(stderr, "linea: warning: %s: %s records no tokenizer checksum; using %s unchecked\n", command,
                 checkpoint.c_str(), source.c_str());
  return t;
}

}  // namespace linea
