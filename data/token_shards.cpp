// TokenShards: discovery and validation of a shard folder, and range reads that open only
// the shards a range touches and check every id against the vocabulary.
#include "data/token_shards.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/io/hdf5_file.h"
#include "data/prepare.h"
#include "data/synthetic_shards.h"

namespace fs = std::filesystem;

namespace linea {
namespace {

bool is_shard_name(const std::string& name) {
  const std::string prefix = "shard_", suffix = ".h5";
  return name.size() > prefix.size() + suffix.size() && name.compare(0, prefix.size(), prefix) == 0 &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string ids_str(int64_t vocab, int64_t bos, int64_t eos, int64_t pad, int64_t unk) {
  return str_cat(vocab, "/", bos, "/", eos, "/", pad, "/", unk);
}

}  // namespace

std::vector<std::string> TokenShards::files(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw DataError(str_cat("token shard folder not found: ", dir));
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (is_shard_name(name)) names.push_back(name);
  }
  if (ec) throw DataError(str_cat("cannot list token shard folder ", dir, ": ", ec.message()));
  if (names.empty()) throw DataError(str_cat("no token shards (shard_*.h5) in ", dir));
  std::sort(names.begin(), names.end());
  std::vector<std::string> paths;
  for (const std::string& name : names) paths.push_back((fs::path(dir) / name).string());
  return paths;
}

TokenShards::TokenShards(const std::string& dir) : dir_(dir) {
  const std::vector<std::string> paths = files(dir);
  for (size_t i = 0; i < paths.size(); ++i) {
    const std::string& path = paths[i];
    H5File f = H5File::open_read(path, H5Errors::data);
    const bool foreign = (f.has_attr("/", "format") && f.string_attr("/", "format") != kTokenShardFormat) ||
                         !f.has_attr("/", "format_version") || !f.exists("/tokens");
    if (foreign) f.fail("not a linea token shard (expected a /tokens stream and format_version attribute)");
    const int64_t version = f.int_attr("/", "format_version");
    if (version != kTokenShardFormatVersion)
      f.fail(str_cat("token shard format_version ", version, ", expected ", kTokenShardFormatVersion));
    const int64_t vocab = f.int_attr("/", "vocab_size"), bos = f.int_attr("/", "bos_id"),
                  eos = f.int_attr("/", "eos_id"), pad = f.int_attr("/", "pad_id"), unk = f.int_attr("/", "unk_id");
    const std::string sha = f.string_attr("/", "tokenizer_sha256");
    if (vocab <= 0) f.fail(str_cat("vocab_size ", vocab, ", expected > 0"));
    const bool append_eos = f.has_attr("/", "append_eos") && f.int_attr("/", "append_eos") != 0;
    if (i == 0) {
      vocab_size_ = vocab, bos_id_ = bos, eos_id_ = eos, pad_id_ = pad, unk_id_ = unk;
      tokenizer_sha256_ = sha;
      append_eos_ = append_eos;
      if (f.has_attr("/", "tokenizer")) tokenizer_ = f.string_attr("/", "tokenizer");
      if (f.has_attr("/", "tokenizer_kind")) tokenizer_kind_ = f.string_attr("/", "tokenizer_kind");
    } else {
      if (vocab != vocab_size_ || bos != bos_id_ || eos != eos_id_ || pad != pad_id_ || unk != unk_id_)
        f.fail(str_cat("vocab_size/bos/eos/pad/unk ", ids_str(vocab, bos, eos, pad, unk), " differ from ",
                       ids_str(vocab_size_, bos_id_, eos_id_, pad_id_, unk_id_), " in ", shards_[0].path));
      if (sha != tokenizer_sha256_)
        f.fail(str_cat("tokenizer_sha256 ", sha, " differs from ", tokenizer_sha256_, " in ", shards_[0].path,
                       ", expected shards made with one tokenizer"));
      if (append_eos != append_eos_)
        f.fail(str_cat("append_eos ", int(append_eos), " differs from ", int(append_eos_), " in ", shards_[0].path,
                       ", expected shards prepared in one run"));
    }
    const std::string task = f.has_attr("/", kSyntheticTaskAttr) ? f.string_attr("/", kSyntheticTaskAttr) : "";
    const int64_t example_tokens = task.empty() ? 0 : f.int_attr("/", kExampleTokensAttr);
    if (i == 0) {
      synthetic_task_ = task;
      example_tokens_ = example_tokens;
      if (!task.empty()) synthetic_settings_ = f.string_attr("/", kSyntheticSettingsAttr);
    } else if (task != synthetic_task_ || example_tokens != example_tokens_) {
      f.fail(str_cat("synthetic task '", task, "' of ", example_tokens, "-token examples differs from '", synthetic_task_,
                     "' of ", example_tokens_, " in ", shards_[0].path, ", expected shards prepared in one run"));
    }
    if (!task.empty() && example_tokens < 1)
      f.fail(str_cat(kExampleTokensAttr, " ", example_tokens, ", expected >= 1 tokens per synthetic example"));
    const int64_t length = f.length("/tokens");
    const bool masked = f.exists("/loss_mask");
    if (shards_.empty()) loss_mask_ = masked;
    if (masked != loss_mask_)
      f.fail(str_cat(masked ? "has" : "lacks", " a /loss_mask, unlike ", shards_[0].path,
                     ", expected shards prepared in one run"));
    if (masked && f.length("/loss_mask") != length)
      f.fail(str_cat("/loss_mask holds ", f.length("/loss_mask"), " entries for ", length, " tokens"));
    add_documents(f, length);
    shards_.push_back({path, total_tokens_, length});
    total_tokens_ += length;
  }
  if (documents_error_.empty()) doc_starts_.push_back(total_tokens_);
  else doc_starts_.clear();
}

void TokenShards::add_documents(const H5File& f, int64_t length) {
  if (!documents_error_.empty()) return;
  if (!f.exists("/doc_offsets")) {
    documents_error_ = str_cat(f.path(), ": no /doc_offsets, so no document boundaries (shards from linea prepare have them)");
    return;
  }
  const bool continued = f.has_attr("/", "first_document_continued") && f.int_attr("/", "first_document_continued") != 0;
  if (continued && shards_.empty())
    f.fail("first_document_continued is 1 in the first shard, expected 0 (no earlier shard to continue)");
  const Tensor offsets = f.read_tensor("/doc_offsets").to(Device::cpu(), DType::i64);
  const int64_t n = offsets.numel();
  const int64_t* o = offsets.data<int64_t>();
  // prepare writes the start of every document piece (0 first), then the shard's length.
  if (offsets.dim() != 1 || n < 2 || o[0] != 0 || o[n - 1] != length)
    f.fail(str_cat("/doc_offsets of ", n, " entries from ", n > 0 ? o[0] : -1, " to ", n > 0 ? o[n - 1] : -1,
                   ", expected a 1-D list from 0 to the shard's ", length, " tokens"));
  for (int64_t k = 1; k < n; ++k)
    if (o[k] < o[k - 1])
      f.fail(str_cat("/doc_offsets decrease at entry ", k, " (", o[k - 1], " then ", o[k], "), expected ascending starts"));
  // A continuation extends the previous shard's last document: its start is not a new one.
  for (int64_t k = continued ? 1 : 0; k < n - 1; ++k) {
    const int64_t start = total_tokens_ + o[k];
    if (o[k] == o[k + 1]) continue;  // an empty document
    doc_starts_.push_back(start);
  }
}

int64_t TokenShards::num_documents() const {
  LINEA_CHECK_T(DataError, documents_error_.empty(), documents_error_);
  return int64_t(doc_starts_.size()) - 1;
}

std::pair<int64_t, int64_t> TokenShards::document(int64_t i) const {
  const int64_t n = num_documents();
  LINEA_CHECK_T(DataError, i >= 0 && i < n, "document index ", i, " is outside the ", n, " documents in ", dir_);
  return {doc_starts_[size_t(i)], doc_starts_[size_t(i) + 1]};
}

int64_t TokenShards::document_at(int64_t pos) const {
  const int64_t n = num_documents();
  LINEA_CHECK_T(DataError, pos >= 0 && pos < total_tokens_, "token position ", pos, " is outside the ", total_tokens_,
                " tokens in ", dir_);
  // The last start <= pos.
  auto it = std::upper_bound(doc_starts_.begin(), doc_starts_.end() - 1, pos);
  const int64_t d = int64_t(it - doc_starts_.begin()) - 1;
  LINEA_ASSERT(d >= 0 && d < n, "document of position ", pos);
  return d;
}

const std::string& TokenShards::shard_path(int64_t i) const {
  LINEA_CHECK_T(DataError, i >= 0 && i < num_shards(), "shard index ", i, " is outside the ", num_shards(),
                " shards in ", dir_);
  return shards_[size_t(i)].path;
}

Tensor TokenShards::read(int64_t start, int64_t count) const { return read_stream("/tokens", start, count, true); }

Tensor TokenShards::read_loss_mask(int64_t start, int64_t count) const {
  LINEA_CHECK_T(DataError, loss_mask_, dir_, ": the shards have no /loss_mask (prepare --prompt-field makes one)");
  return read_stream("/loss_mask", start, count, false);
}

Tensor TokenShards::read_stream(const char* stream, int64_t start, int64_t count, bool vocab_check) const {
  LINEA_CHECK_T(DataError, start >= 0 && count >= 0 && start + count <= total_tokens_, "token range [", start, ", ",
                start + count, ") is outside the ", total_tokens_, " tokens in ", dir_);
  Tensor out = Tensor::empty({count}, DType::i64);
  int64_t* dst = out.data<int64_t>();
  // The last shard whose begin is <= start (skipping empty shards naturally).
  auto it = std::upper_bound(shards_.begin(), shards_.end(), start,
                             [](int64_t pos, const Shard& s) { return pos < s.begin; });
  size_t s = size_t(it - shards_.begin()) - (it == shards_.begin() ? 0 : 1);
  int64_t done = 0;
  for (; done < count && s < shards_.size(); ++s) {
    const Shard& shard = shards_[s];
    const int64_t local = start + done - shard.begin;
    if (local >= shard.length) continue;
    const int64_t n = std::min(count - done, shard.length - local);
    H5File f = H5File::open_read(shard.path, H5Errors::data);
    Tensor part = f.read_range(stream, local, n, DType::i64);
    const int64_t* src = part.data<int64_t>();
    for (int64_t k = 0; k < n && vocab_check; ++k)
      if (src[k] < 0 || src[k] >= vocab_size_)
        f.fail(str_cat("token id ", src[k], " at position ", local + k, " is beyond the vocabulary, expected < ",
                       vocab_size_));
    std::memcpy(dst + done, src, size_t(n) * sizeof(int64_t));
    done += n;
  }
  LINEA_ASSERT(done == count, "read ", done, " of ", count, " tokens");
  return out;
}

}  // namespace linea
