// write_synthetic_shards: examples streamed into one shard under a temporary name, renamed
// into place once complete (older shards of the folder removed, as prepare does with --force).
#include "data/synthetic_shards.h"

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/error.h"
#include "core/io/hdf5_file.h"
#include "data/prepare.h"
#include "data/sha256.h"

namespace fs = std::filesystem;

namespace linea {
namespace {

std::string where(const SyntheticTaskOptions& t) { return str_cat("prepare: --synthetic ", synthetic_task_name(t.task)); }

std::string settings_json(const SyntheticShardOptions& o) {
  const SyntheticTaskOptions& t = o.task;
  nlohmann::json j = {{"task", synthetic_task_name(t.task)},
                      {"vocab_size", t.vocab_size},
                      {"seq_len", t.seq_len},
                      {"examples", o.examples},
                      {"seed", t.seed}};
  if (t.task == SyntheticTask::mqar) {
    j["pairs"] = t.pairs;
    j["query_layout"] = mqar_query_layout_name(t.query_layout);
    j["power_a"] = kMqarPowerA;
    // after_sep pads instead: there are no non-query positions to randomize.
    j["random_non_queries"] = t.query_layout == MqarQueryLayout::zoology && t.random_non_queries;
  }
  return j.dump();
}

// Buffers tokens and mask flags and appends them to the shard's two streams.
class StreamBuffer {
 public:
  explicit StreamBuffer(H5File& f) : f_(f) {}
  void add(int32_t token, int32_t mask) {
    tokens_.push_back(token);
    mask_.push_back(mask);
    if (tokens_.size() >= (size_t(1) << 20)) flush();
  }
  void flush() {
    if (tokens_.empty()) return;
    append("/tokens", tokens_);
    append("/loss_mask", mask_);
  }

 private:
  void append(const char* stream, std::vector<int32_t>& values) {
    Tensor t = Tensor::empty({int64_t(values.size())}, DType::i32);
    std::copy(values.begin(), values.end(), t.data<int32_t>());
    f_.append(stream, t);
    values.clear();
  }
  H5File& f_;
  std::vector<int32_t> tokens_, mask_;
};

}  // namespace

void check_synthetic_shard_options(const SyntheticShardOptions& o) {
  check_synthetic_options(o.task, where(o.task));
  LINEA_CHECK_T(ConfigError, o.examples >= 1, where(o.task), ": ", o.examples, " examples, expected >= 1");
  LINEA_CHECK_T(ConfigError, o.examples <= (int64_t(1) << 40) / o.task.seq_len, where(o.task), ": ", o.examples,
                " examples of ", o.task.seq_len, " tokens, expected at most 2^40 tokens");
  LINEA_CHECK_T(DataError, !o.output_dir.empty(), "prepare: no output folder given");
  const int64_t existing = count_token_shards(o.output_dir);
  LINEA_CHECK_T(DataError, o.force || existing == 0, "prepare: output folder ", o.output_dir, " already holds ",
                existing, " shards, expected --force to replace them");
}

SyntheticShardSummary write_synthetic_shards(const SyntheticShardOptions& o) {
  check_synthetic_shard_options(o);
  const SyntheticTaskOptions& t = o.task;
  const int64_t L = t.seq_len, N = o.examples;
  std::error_code ec;
  const bool created_dir = !fs::exists(o.output_dir, ec);
  fs::create_directories(o.output_dir, ec);
  if (ec || !fs::is_directory(o.output_dir))
    throw DataError(str_cat("prepare: cannot create output folder ", o.output_dir, ec ? ": " + ec.message() : std::string()));
  const std::string final_path = (fs::path(o.output_dir) / "shard_00000.h5").string();
  const std::string temp_path = (fs::path(o.output_dir) / ".shard_00000.h5.tmp").string();
  // Removes the temporary (and a folder this call made) unless the shard was renamed into place.
  struct Cleanup {
    std::string temp, dir;
    bool created_dir, done = false;
    ~Cleanup() {
      if (done) return;
      std::error_code e;
      fs::remove(temp, e);
      if (created_dir) fs::remove(dir, e);  // only succeeds when empty
    }
  } cleanup{temp_path, o.output_dir, created_dir};

  SyntheticShardSummary summary;
  summary.shard_path = final_path;
  summary.tokens = N * L + 1;
  {
    H5File f = H5File::create(temp_path, H5Errors::data);
    const int64_t chunk = std::min<int64_t>(summary.tokens, 1 << 16);
    f.create_stream("/tokens", t.vocab_size <= 65536 ? StreamElement::u16 : StreamElement::u32, chunk);
    f.create_stream("/loss_mask", StreamElement::u16, chunk);
    StreamBuffer streams(f);
    std::vector<int64_t> doc_offsets;
    for (int64_t i = 0; i < N; ++i) {
      const SyntheticExample e = synthetic_example(t, i);
      LINEA_ASSERT(int64_t(e.tokens.size()) == L && e.scored.size() == e.tokens.size(), "synthetic example ", i,
                   " of ", e.tokens.size(), " tokens, expected ", L);
      doc_offsets.push_back(i * L);
      for (int64_t p = 0; p < L; ++p) {
        streams.add(e.tokens[size_t(p)], e.scored[size_t(p)]);
        summary.scored += e.scored[size_t(p)];
      }
    }
    streams.add(0, 0);  // the last window's extra token, never a scored target
    streams.flush();
    doc_offsets.push_back(summary.tokens);
    Tensor offsets = Tensor::empty({int64_t(doc_offsets.size())}, DType::i64);
    std::copy(doc_offsets.begin(), doc_offsets.end(), offsets.data<int64_t>());
    f.write_tensor("/doc_offsets", offsets);
    f.set_string_attr("/", "format", kTokenShardFormat);
    f.set_int_attr("/", "format_version", kTokenShardFormatVersion);
    f.set_int_attr("/", "shard_index", 0);
    f.set_int_attr("/", "first_document_continued", 0);
    f.set_int_attr("/", "append_eos", 0);
    const std::string vocabulary = str_cat("synthetic ", synthetic_task_name(t.task), " vocab ", t.vocab_size);
    f.set_string_attr("/", "tokenizer", vocabulary);
    f.set_string_attr("/", "tokenizer_kind", "synthetic");
    f.set_string_attr("/", "tokenizer_sha256", sha256_hex(vocabulary));
    f.set_int_attr("/", "vocab_size", t.vocab_size);
    f.set_int_attr("/", "bos_id", -1);
    f.set_int_attr("/", "eos_id", -1);
    f.set_int_attr("/", "pad_id", 0);
    f.set_int_attr("/", "unk_id", -1);
    f.set_string_attr("/", "sources", "[]");
    f.set_string_attr("/", kSyntheticTaskAttr, synthetic_task_name(t.task));
    f.set_string_attr("/", kSyntheticSettingsAttr, settings_json(o));
    f.set_int_attr("/", kExampleTokensAttr, L);
    f.close();
  }
  fs::rename(temp_path, final_path, ec);
  if (ec) throw DataError(str_cat("prepare: cannot rename ", temp_path, " to ", final_path, ": ", ec.message()));
  cleanup.done = true;
  for (const auto& entry : fs::directory_iterator(o.output_dir)) {
    const std::string name = entry.path().filename().string();
    if (name != "shard_00000.h5" && name.rfind("shard_", 0) == 0 && entry.path().extension() == ".h5") {
      fs::remove(entry.path(), ec);
      if (ec) throw DataError(str_cat("prepare: cannot remove older shard ", entry.path().string(), ": ", ec.message()));
    }
  }
  return summary;
}

}  // namespace linea
