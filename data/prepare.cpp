// prepare_shards: documents are tokenized and streamed into shards under temporary names,
// which are renamed into place once every shard is written (older extras removed).
#include "data/prepare.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/error.h"
#include "core/io/hdf5_file.h"
#include "core/philox.h"
#include "data/readers.h"
#include "data/sha256.h"
#include "data/text_tokenizer.h"

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
  ShardWriter(const PrepareOptions& options, const std::string& output_dir, const TextTokenizer& tok,
              const std::string& sources_json)
      : options_(options), output_dir_(output_dir), tok_(tok), sources_json_(sources_json), tokenizer_sha_(sha256_file(tok.path())) {}

  ~ShardWriter() {
    if (!committed_) discard();
  }

  // prompt_tokens: how many of the first ids are a prompt (the /loss_mask stream is 0 there).
  void add_document(const std::vector<int32_t>& ids, int64_t prompt_tokens = 0) {
    ++num_documents_;
    bool first = true;
    if (ids.empty() && file_) offsets_.push_back(in_shard_);
    for (size_t pos = 0; pos < ids.size();) {
      if (!file_) open_shard(!first);
      if (first || in_shard_ == 0) offsets_.push_back(in_shard_);  // a document start or its continuation
      first = false;
      const size_t take = size_t(std::min<int64_t>(options_.shard_tokens - in_shard_, int64_t(ids.size() - pos)));
      pending_.insert(pending_.end(), ids.begin() + ptrdiff_t(pos), ids.begin() + ptrdiff_t(pos + take));
      if (masked())
        for (size_t k = pos; k < pos + take; ++k) pending_mask_.push_back(int64_t(k) < prompt_tokens ? 0 : 1);
      pos += take;
      in_shard_ += int64_t(take);
      num_tokens_ += int64_t(take);
      if (pending_.size() >= (1u << 20)) flush_pending();
      if (in_shard_ == options_.shard_tokens) close_shard();
    }
  }

  int64_t num_documents() const { return num_documents_; }
  int64_t num_tokens() const { return num_tokens_; }
  // Prompted documents: a /loss_mask stream beside /tokens (1: the target counts, 0: prompt).
  bool masked() const { return !options_.reader.prompt_field.empty(); }

  // Renames the temporaries into place and removes older shards beyond them.
  std::vector<std::string> commit() {
    if (file_) close_shard();
    std::vector<std::string> finals;
    for (size_t i = 0; i < temp_paths_.size(); ++i) {
      finals.push_back((fs::path(output_dir_) / shard_name(int64_t(i))).string());
      std::error_code ec;
      fs::rename(temp_paths_[i], finals.back(), ec);
      if (ec) throw DataError(str_cat("prepare: cannot rename ", temp_paths_[i], " to ", finals.back(), ": ", ec.message()));
    }
    committed_ = true;
    std::vector<fs::path> stale;
    for (const auto& entry : fs::directory_iterator(output_dir_)) {
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
      created_dir_ = !fs::exists(output_dir_, ec);
      fs::create_directories(output_dir_, ec);
      if (ec || !fs::is_directory(output_dir_))
        throw DataError(str_cat("prepare: cannot create output folder ", output_dir_,
                                ec ? ": " + ec.message() : std::string()));
    }
    const int64_t index = int64_t(temp_paths_.size());
    const std::string path = (fs::path(output_dir_) / ("." + shard_name(index) + ".tmp")).string();
    temp_paths_.push_back(path);
    file_ = std::make_unique<H5File>(H5File::create(path, H5Errors::data));
    const StreamElement element = tok_.vocab_size() <= 65536 ? StreamElement::u16 : StreamElement::u32;
    file_->create_stream("/tokens", element, std::min<int64_t>(options_.shard_tokens, 1 << 16));
    if (masked()) file_->create_stream("/loss_mask", StreamElement::u16, std::min<int64_t>(options_.shard_tokens, 1 << 16));
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
    if (masked()) {
      Tensor m = Tensor::empty({int64_t(pending_mask_.size())}, DType::i32);
      std::copy(pending_mask_.begin(), pending_mask_.end(), m.data<int32_t>());
      file_->append("/loss_mask", m);
      pending_mask_.clear();
    }
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
    f.set_string_attr("/", "tokenizer", tok_.path());
    f.set_string_attr("/", "tokenizer_kind", tok_.kind());
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
    if (created_dir_) fs::remove(output_dir_, ec);  // only succeeds when empty
  }

  const PrepareOptions& options_;
  const std::string output_dir_;
  const TextTokenizer& tok_;
  const std::string sources_json_;
  const std::string tokenizer_sha_;
  std::vector<std::string> temp_paths_;
  std::unique_ptr<H5File> file_;
  bool continued_ = false, committed_ = false, created_dir_ = false;
  int64_t in_shard_ = 0, num_documents_ = 0, num_tokens_ = 0;
  std::vector<int64_t> offsets_;
  std::vector<int32_t> pending_;
  std::vector<int32_t> pending_mask_;
};

// Documents of the input files in order, in batches of about kBatchBytes.
class BatchSource {
 public:
  static constexpr size_t kBatchBytes = size_t(4) << 20, kBatchDocs = 1 << 16;

  explicit BatchSource(const PrepareOptions& options) : options_(options) {}

  // The next batch into `docs` (cleared first) and each one's prompt length in bytes; false
  // once every file is exhausted.
  bool next(std::vector<std::string>& docs, std::vector<size_t>& prompts) {
    docs.clear();
    prompts.clear();
    size_t bytes = 0, prompt = 0;
    std::string doc;
    while (bytes < kBatchBytes && docs.size() < kBatchDocs) {
      if (!reader_) {
        if (file_ == options_.input_files.size()) break;
        reader_ = std::make_unique<DocumentReader>(options_.input_files[file_], options_.reader);
      }
      if (!reader_->next(doc, &prompt)) {
        done_bytes_ += reader_->bytes_read();
        reader_.reset();
        ++file_;
        continue;
      }
      bytes += doc.size();
      docs.push_back(std::move(doc));
      prompts.push_back(prompt);
    }
    bytes_read_ = done_bytes_ + (reader_ ? reader_->bytes_read() : 0);
    return !docs.empty();
  }

  // Bytes consumed from the input files up to the last batch (compressed for .gz).
  int64_t bytes_read() const { return bytes_read_; }

 private:
  const PrepareOptions& options_;
  size_t file_ = 0;
  std::unique_ptr<DocumentReader> reader_;
  int64_t done_bytes_ = 0, bytes_read_ = 0;
};

// Progress lines on stderr, at most 4 a second, overwritten in place on a terminal.
class Progress {
 public:
  Progress(bool enabled, int64_t total_bytes)
      : enabled_(enabled), tty_(::isatty(2) == 1), total_bytes_(total_bytes), start_(Clock::now()), last_(start_) {}

  void update(int64_t bytes, int64_t docs, int64_t tokens, bool final = false) {
    if (!enabled_) return;
    const Clock::time_point now = Clock::now();
    if (!final && now - last_ < std::chrono::milliseconds(250)) return;
    last_ = now;
    const double seconds = std::chrono::duration<double>(now - start_).count();
    const double mb_per_s = seconds > 0 ? double(bytes) / 1e6 / seconds : 0.0;
    char eta[32] = "";
    if (!final && mb_per_s > 0 && total_bytes_ > bytes)
      std::snprintf(eta, sizeof(eta), ", ETA %.0fs", double(total_bytes_ - bytes) / 1e6 / mb_per_s);
    std::fprintf(stderr, "%sprepare: %.1f/%.1f MB read, %ld docs, %ld tokens, %.1f MB/s%s%s", tty_ ? "\r" : "",
                 double(bytes) / 1e6, double(total_bytes_) / 1e6, long(docs), long(tokens), mb_per_s, eta,
                 tty_ && !final ? "\x1b[K" : "\n");
    std::fflush(stderr);
  }

 private:
  using Clock = std::chrono::steady_clock;
  const bool enabled_, tty_;
  const int64_t total_bytes_;
  const Clock::time_point start_;
  Clock::time_point last_;
};

// Encodes docs[i] (and eos) into ids[i] on `threads` threads, and the first prompts[i] bytes
// alone into prompt_tokens[i] tokens (the prompt's share of the document as the reference
// labels it: the tokens of the prompt encoded by itself); the first error is rethrown.
void encode_batch(const TextTokenizer& tok, const std::vector<std::string>& docs, const std::vector<size_t>& prompts,
                  bool append_eos, int threads, std::vector<std::vector<int32_t>>& ids,
                  std::vector<int64_t>& prompt_tokens) {
  ids.resize(docs.size());
  prompt_tokens.assign(docs.size(), 0);
  std::exception_ptr error;
#pragma omp parallel for schedule(dynamic, 8) num_threads(threads)
  for (size_t i = 0; i < docs.size(); ++i) {
    try {
      ids[i] = tok.encode(docs[i]);
      if (prompts[i] > 0)
        prompt_tokens[i] = std::min<int64_t>(int64_t(tok.encode(docs[i].substr(0, prompts[i])).size()), int64_t(ids[i].size()));
      if (append_eos) ids[i].push_back(tok.eos_id());
    } catch (...) {
#pragma omp critical(prepare_encode_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

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

}  // namespace

int64_t count_token_shards(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  int64_t n = 0;
  for (const auto& entry : fs::directory_iterator(dir)) n += is_shard_name(entry.path().filename().string());
  return n;
}

void check_prepare_options(const PrepareOptions& options) {
  LINEA_CHECK_T(DataError, options.shard_tokens > 0, "prepare: shard_tokens ", options.shard_tokens,
                ", expected > 0");
  LINEA_CHECK_T(DataError, !options.input_files.empty(), "prepare: no input files given");
  LINEA_CHECK_T(DataError, !options.output_dir.empty(), "prepare: no output folder given");
  for (const std::string& f : options.input_files) {
    LINEA_CHECK_T(DataError, fs::is_regular_file(f), "prepare: input file not found: ", f);
    LINEA_CHECK_T(DataError,
                  options.reader.prompt_field.empty() ||
                      corpus_format_for(f, options.reader.format) == CorpusFormat::jsonl,
                  "prepare: --prompt-field needs JSONL input, got ", f, " (use --format jsonl or a .jsonl file)");
  }
  LINEA_CHECK_T(DataError, options.reader.prompt_field != options.reader.text_field, "prepare: --prompt-field and ",
                "--text-field are both '", options.reader.text_field, "', expected two fields");
  LINEA_CHECK_T(DataError, options.threads >= 0, "prepare: threads ", options.threads, ", expected >= 0");
  LINEA_CHECK_T(DataError, options.valid_fraction >= 0 && options.valid_fraction < 1, "prepare: valid fraction ",
                options.valid_fraction, ", expected in [0, 1)");
  LINEA_CHECK_T(DataError, (options.valid_fraction > 0) == !options.valid_output_dir.empty(),
                "prepare: a valid fraction > 0 and a valid output folder go together, got fraction ",
                options.valid_fraction, " and folder '", options.valid_output_dir, "'");
  std::vector<std::string> outputs = {options.output_dir};
  if (!options.valid_output_dir.empty()) {
    std::error_code ec;
    LINEA_CHECK_T(DataError,
                  fs::weakly_canonical(options.valid_output_dir, ec) != fs::weakly_canonical(options.output_dir, ec),
                  "prepare: valid output folder ", options.valid_output_dir, " is the output folder, expected another");
    outputs.push_back(options.valid_output_dir);
  }
  for (const std::string& dir : outputs) {
    const int64_t existing = count_token_shards(dir);
    LINEA_CHECK_T(DataError, options.force || existing == 0, "prepare: output folder ", dir, " already holds ",
                  existing, " shards, expected --force to replace them");
  }
}

PrepareSummary prepare_shards(const PrepareOptions& options) {
  check_prepare_options(options);
  const std::unique_ptr<TextTokenizer> tok_ptr = load_tokenizer(options.tokenizer_model);
  const TextTokenizer& tok = *tok_ptr;
  LINEA_CHECK_T(DataError, !options.append_eos || tok.eos_id() >= 0, "prepare: ", tok.path(), " (", tok.kind(),
                ") has no eos token, expected one when appending eos");

  nlohmann::json sources = nlohmann::json::array();
  for (const std::string& f : options.input_files) sources.push_back({{"path", f}, {"sha256", sha256_file(f)}});

  const int threads = options.threads > 0 ? options.threads : std::max(1, int(std::thread::hardware_concurrency()));
  const bool split = options.valid_fraction > 0;
  const double valid_below = options.valid_fraction * 4294967296.0;  // on the 32-bit hash
  int64_t total_bytes = 0;
  for (const std::string& f : options.input_files) total_bytes += int64_t(fs::file_size(f));

  ShardWriter writer(options, options.output_dir, tok, sources.dump());
  std::unique_ptr<ShardWriter> valid_writer;
  if (split) valid_writer = std::make_unique<ShardWriter>(options, options.valid_output_dir, tok, sources.dump());
  std::map<int64_t, int64_t> length_counts;  // tokens per document -> documents
  Progress progress(options.progress, total_bytes);
  BatchSource source(options);
  std::vector<std::string> docs, next_docs;
  std::vector<size_t> prompts, next_prompts;
  std::vector<std::vector<int32_t>> ids;
  std::vector<int64_t> prompt_tokens;
  int64_t doc_index = 0, num_tokens = 0;
  bool more = source.next(docs, prompts);
  while (more) {
    // The next batch is read while this one is encoded (on the calling thread for 1 thread).
    const int64_t bytes_read = source.bytes_read();
    std::future<bool> reading = std::async(threads > 1 ? std::launch::async : std::launch::deferred,
                                           [&] { return source.next(next_docs, next_prompts); });
    encode_batch(tok, docs, prompts, options.append_eos, threads, ids, prompt_tokens);
    for (size_t i = 0; i < ids.size(); ++i) {
      const std::vector<int32_t>& doc_ids = ids[i];
      const bool valid = split && double(Philox4x32::word(options.split_seed, uint64_t(doc_index), 0)) < valid_below;
      (valid ? *valid_writer : writer).add_document(doc_ids, prompt_tokens[i]);
      ++length_counts[int64_t(doc_ids.size())];
      num_tokens += int64_t(doc_ids.size());
      ++doc_index;
    }
    progress.update(bytes_read, doc_index, num_tokens);
    more = reading.get();
    std::swap(docs, next_docs);
    std::swap(prompts, next_prompts);
  }
  progress.update(total_bytes, doc_index, num_tokens, true);
  LINEA_CHECK_T(DataError, num_tokens > 0, "prepare: the input files hold no text");
  if (split) {
    LINEA_CHECK_T(DataError, valid_writer->num_tokens() > 0 && writer.num_tokens() > 0, "prepare: valid fraction ",
                  options.valid_fraction, " put ", valid_writer->num_documents(), " of ", doc_index,
                  " documents in the validation split, expected both splits to hold some");
  }

  PrepareSummary summary;
  summary.num_tokens = writer.num_tokens();
  summary.num_documents = writer.num_documents();
  summary.doc_tokens_p50 = nearest_rank(length_counts, doc_index, 0.50);
  summary.doc_tokens_p90 = nearest_rank(length_counts, doc_index, 0.90);
  summary.doc_tokens_p99 = nearest_rank(length_counts, doc_index, 0.99);
  summary.doc_tokens_max = length_counts.rbegin()->first;
  summary.shard_paths = writer.commit();
  if (split) {
    summary.valid_num_tokens = valid_writer->num_tokens();
    summary.valid_num_documents = valid_writer->num_documents();
    summary.valid_shard_paths = valid_writer->commit();
  }
  return summary;
}

}  // namespace linea
