// prepare_shards: documents are tokenized and streamed into shards under temporary names,
// which are renamed into place once every shard is written (older extras removed).
#include "data/prepare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io/hdf5_file.h"
#include "data/readers.h"
#include "data/sha256.h"
#include "data/tokenizer.h"

namespace fs = std::filesystem;

namespace linea {
namespace {

std::string shard_name(int64_t index) {
  char name[32];
  std::snprintf(name, sizeof(name), "shard_%05ld.h5", long(index));
  return name;
}

bool is_shard_name(const std::string& name) {
  return name.size() > 9 && name.compare(0, 6, "shard_") == 0 && name.compare(name.size() - 3, 3, ".h5") == 0;
}

// Streams documents into shards of exactly shard_tokens tokens under temporary names.
class ShardWriter {
 public:
  ShardWriter(const PrepareOptions& options, const Tokenizer& tok, const std::string& sources_json)
      : options_(options), tok_(tok), sources_json_(sources_json), tokenizer_sha_(sha256_file(tok.model_path())) {}

  ~ShardWriter() {
    if (!committed_) discard();
  }

  void add_document(const std::vector<int32_t>& ids) {
    ++num_documents_;
    bool first = true;
    if (ids.empty() && file_) offsets_.push_back(in_shard_);
    for (size_t pos = 0; pos < ids.size();) {
      if (!file_) open_shard(!first);
      if (first || in_shard_ == 0) offsets_.push_back(in_shard_);  // a document start or its continuation
      first = false;
      const size_t take = size_t(std::min<int64_t>(options_.shard_tokens - in_shard_, int64_t(ids.size() - pos)));
      pending_.insert(pending_.end(), ids.begin() + ptrdiff_t(pos), ids.begin() + ptrdiff_t(pos + take));
      pos += take;
      in_shard_ += int64_t(take);
      num_tokens_ += int64_t(take);
      if (pending_.size() >= (1u << 20)) flush_pending();
      if (in_shard_ == options_.shard_tokens) close_shard();
    }
  }

  int64_t num_documents() const { return num_documents_; }
  int64_t num_tokens() const { return num_tokens_; }

  // Renames the temporaries into place and removes older shards beyond them.
  std::vector<std::string> commit() {
    if (file_) close_shard();
    std::vector<std::string> finals;
    for (size_t i = 0; i < temp_paths_.size(); ++i) {
      finals.push_back((fs::path(options_.output_dir) / shard_name(int64_t(i))).string());
      std::error_code ec;
      fs::rename(temp_paths_[i], finals.back(), ec);
      if (ec) throw DataError(str_cat("prepare: cannot rename ", temp_paths_[i], " to ", finals.back(), ": ", ec.message()));
    }
    committed_ = true;
    std::vector<fs::path> stale;
    for (const auto& entry : fs::directory_iterator(options_.output_dir)) {
      const std::string name = entry.path().filename().string();
      if (is_shard_name(name) && std::find(finals.begin(), finals.end(), entry.path().string()) == finals.end())
        stale.push_back(entry.path());
    }
    for (const fs::path& p : stale) {
      std::error_code ec;
      fs::remove(p, ec);
      if (ec) throw DataError(str_cat("prepare: cannot remove older shard ", p.string(), ": ", ec.message()));
    }
    return finals;
  }

 private:
  void open_shard(bool continued) {
    if (temp_paths_.empty()) {
      std::error_code ec;
      created_dir_ = !fs::exists(options_.output_dir, ec);
      fs::create_directories(options_.output_dir, ec);
      if (ec || !fs::is_directory(options_.output_dir))
        throw DataError(str_cat("prepare: cannot create output folder ", options_.output_dir,
                                ec ? ": " + ec.message() : std::string()));
    }
    const int64_t index = int64_t(temp_paths_.size());
    const std::string path = (fs::path(options_.output_dir) / ("." + shard_name(index) + ".tmp")).string();
    temp_paths_.push_back(path);
    file_ = std::make_unique<H5File>(H5File::create(path, H5Errors::data));
    const StreamElement element = tok_.vocab_size() <= 65536 ? StreamElement::u16 : StreamElement::u32;
    file_->create_stream("/tokens", element, std::min<int64_t>(options_.shard_tokens, 1 << 16));
    continued_ = continued;
    in_shard_ = 0;
    offsets_.clear();
  }

  void flush_pending() {
    if (pending_.empty()) return;
    Tensor t = Tensor::empty({int64_t(pending_.size())}, DType::i32);
    std::copy(pending_.begin(), pending_.end(), t.data<int32_t>());
    file_->append("/tokens", t);
    pending_.clear();
  }

  void close_shard() {
    flush_pending();
    offsets_.push_back(in_shard_);
    Tensor offsets = Tensor::empty({int64_t(offsets_.size())}, DType::i64);
    std::copy(offsets_.begin(), offsets_.end(), offsets.data<int64_t>());
    H5File& f = *file_;
    f.write_tensor("/doc_offsets", offsets);
    f.set_string_attr("/", "format", kTokenShardFormat);
    f.set_int_attr("/", "format_version", kTokenShardFormatVersion);
    f.set_int_attr("/", "shard_index", int64_t(temp_paths_.size()) - 1);
    f.set_int_attr("/", "first_document_continued", continued_ ? 1 : 0);
    f.set_int_attr("/", "append_eos", options_.append_eos ? 1 : 0);
    f.set_string_attr("/", "tokenizer", tok_.model_path());
    f.set_string_attr("/", "tokenizer_sha256", tokenizer_sha_);
    f.set_int_attr("/", "vocab_size", tok_.vocab_size());
    f.set_int_attr("/", "bos_id", tok_.bos_id());
    f.set_int_attr("/", "eos_id", tok_.eos_id());
    f.set_int_attr("/", "pad_id", tok_.pad_id());
    f.set_int_attr("/", "unk_id", tok_.unk_id());
    f.set_string_attr("/", "sources", sources_json_);
    f.close();
    file_.reset();
  }

  void discard() {
    file_.reset();
    std::error_code ec;
    for (const std::string& p : temp_paths_) fs::remove(p, ec);
    if (created_dir_) fs::remove(options_.output_dir, ec);  // only succeeds when empty
  }

  const PrepareOptions& options_;
  const Tokenizer& tok_;
  const std::string sources_json_;
  const std::string tokenizer_sha_;
  std::vector<std::string> temp_paths_;
  std::unique_ptr<H5File> file_;
  bool continued_ = false, committed_ = false, created_dir_ = false;
  int64_t in_shard_ = 0, num_documents_ = 0, num_tokens_ = 0;
  std::vector<int64_t> offsets_;
  std::vector<int32_t> pending_;
};

// The smallest length such that at least fraction p of the documents are no longer.
int64_t nearest_rank(const std::map<int64_t, int64_t>& counts, int64_t total, double p) {
  const int64_t rank = std::max<int64_t>(1, int64_t(std::ceil(p * double(total))));
  int64_t seen = 0;
  for (const auto& [length, count] : counts) {
    seen += count;
    if (seen >= rank) return length;
  }
  return counts.rbegin()->first;
}

int64_t count_shards(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  int64_t n = 0;
  for (const auto& entry : fs::directory_iterator(dir)) n += is_shard_name(entry.path().filename().string());
  return n;
}

}  // namespace

void check_prepare_options(const PrepareOptions& options) {
  LINEA_CHECK_T(DataError, options.shard_tokens > 0, "prepare: shard_tokens ", options.shard_tokens,
                ", expected > 0");
  LINEA_CHECK_T(DataError, !options.input_files.empty(), "prepare: no input files given");
  LINEA_CHECK_T(DataError, !options.output_dir.empty(), "prepare: no output folder given");
  for (const std::string& f : options.input_files)
    LINEA_CHECK_T(DataError, fs::is_regular_file(f), "prepare: input file not found: ", f);
  const int64_t existing = count_shards(options.output_dir);
  LINEA_CHECK_T(DataError, options.force || existing == 0, "prepare: output folder ", options.output_dir,
                " already holds ", existing, " shards, expected --force to replace them");
}

PrepareSummary prepare_shards(const PrepareOptions& options) {
  check_prepare_options(options);
  Tokenizer tok = Tokenizer::load(options.tokenizer_model);
  LINEA_CHECK_T(DataError, !options.append_eos || tok.eos_id() >= 0, "prepare: ", options.tokenizer_model,
                " has no eos piece, expected one when appending eos");

  nlohmann::json sources = nlohmann::json::array();
  for (const std::string& f : options.input_files) sources.push_back({{"path", f}, {"sha256", sha256_file(f)}});

  ShardWriter writer(options, tok, sources.dump());
  std::map<int64_t, int64_t> length_counts;  // tokens per document -> documents
  std::string doc;
  for (const std::string& path : options.input_files) {
    DocumentReader reader(path, options.reader);
    while (reader.next(doc)) {
      std::vector<int32_t> ids = tok.encode(doc);
      if (options.append_eos) ids.push_back(tok.eos_id());
      writer.add_document(ids);
      ++length_counts[int64_t(ids.size())];
    }
  }
  LINEA_CHECK_T(DataError, writer.num_tokens() > 0, "prepare: the input files hold no text");

  PrepareSummary summary;
  summary.num_tokens = writer.num_tokens();
  summary.num_documents = writer.num_documents();
  summary.doc_tokens_p50 = nearest_rank(length_counts, summary.num_documents, 0.50);
  summary.doc_tokens_p90 = nearest_rank(length_counts, summary.num_documents, 0.90);
  summary.doc_tokens_p99 = nearest_rank(length_counts, summary.num_documents, 0.99);
  summary.doc_tokens_max = length_counts.rbegin()->first;
  summary.shard_paths = writer.commit();
  return summary;
}

}  // namespace linea
