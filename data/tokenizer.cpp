// Tokenizer over libsentencepiece: training through SentencePieceTrainer with a sentence
// iterator over the input files' non-empty lines, loading, encode/decode with id checks.
#include "data/tokenizer.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <filesystem>
#include <fstream>
#include <unordered_map>

#include "core/error.h"
#include "data/spm_split.h"

namespace linea {
namespace {

// The non-empty lines of several files, in order.
class LineIterator : public sentencepiece::SentenceIterator {
 public:
  explicit LineIterator(const std::vector<std::string>& files) : files_(files) { Next(); }
  bool done() const override { return done_; }
  void Next() override {
    while (true) {
      if (in_.is_open() && std::getline(in_, line_)) {
        if (!line_.empty() && line_.back() == '\r') line_.pop_back();
        if (!line_.empty()) return;
        continue;
      }
      if (in_.is_open() && in_.bad()) {
        status_ = sentencepiece::util::Status(sentencepiece::util::StatusCode::kDataLoss,
                                              "cannot read " + files_[next_file_ - 1]);
        done_ = true;
        return;
      }
      in_.close();
      in_.clear();
      if (next_file_ == files_.size()) {
        done_ = true;
        return;
      }
      in_.open(files_[next_file_++], std::ios::binary);
      if (!in_) {
        status_ = sentencepiece::util::Status(sentencepiece::util::StatusCode::kNotFound,
                                              "cannot open " + files_[next_file_ - 1]);
        done_ = true;
        return;
      }
    }
  }
  const std::string& value() const override { return line_; }
  sentencepiece::util::Status status() const override { return status_; }

 private:
  const std::vector<std::string>& files_;
  size_t next_file_ = 0;
  std::ifstream in_;
  std::string line_;
  bool done_ = false;
  sentencepiece::util::Status status_;
};

constexpr unsigned kTrainingSeed = 42;

}  // namespace

std::string train_sentencepiece(const std::vector<std::string>& text_files, const std::string& model_prefix,
                                int vocab_size, SentencePieceType type, int num_threads) {
  const std::string model_path = model_prefix + ".model";
  LINEA_CHECK_T(DataError, !text_files.empty(), "tokenizer training of ", model_path, ": no input files");
  for (const std::string& f : text_files)
    LINEA_CHECK_T(DataError, std::filesystem::is_regular_file(f), "tokenizer training input not found: ", f);
  LINEA_CHECK_T(ConfigError, vocab_size > 0, "tokenizer vocab_size ", vocab_size, ", expected > 0");
  LINEA_CHECK_T(ConfigError, num_threads > 0, "tokenizer num_threads ", num_threads, ", expected > 0");

  const std::unordered_map<std::string, std::string> args = {
      {"model_prefix", model_prefix},
      {"vocab_size", std::to_string(vocab_size)},
      {"model_type", type == SentencePieceType::bpe ? "bpe" : "unigram"},
      {"character_coverage", "1.0"},
      {"byte_fallback", "true"},
      {"normalization_rule_name", "nfkc"},
      {"input_sentence_size", "0"},
      {"shuffle_input_sentence", "false"},
      {"unk_id", "0"},
      {"bos_id", "1"},
      {"eos_id", "2"},
      {"pad_id", "3"},
      {"num_threads", std::to_string(num_threads)},
      {"minloglevel", "2"},
  };
  sentencepiece::SetRandomGeneratorSeed(kTrainingSeed);
  LineIterator lines(text_files);
  sentencepiece::util::Status status = sentencepiece::SentencePieceTrainer::Train(args, &lines);
  if (!status.ok())
    throw DataError(str_cat("SentencePiece training of ", model_path, " failed: ", status.ToString()));
  return model_path;
}

Tokenizer Tokenizer::load(const std::string& model_path) {
  LINEA_CHECK_T(DataError, std::filesystem::is_regular_file(model_path), "tokenizer model not found: ", model_path);
  auto sp = std::make_shared<sentencepiece::SentencePieceProcessor>();
  sentencepiece::util::Status status = sp->Load(model_path);
  if (!status.ok())
    throw DataError(str_cat("not a SentencePiece model: ", model_path, " (", status.ToString(), ")"));
  return Tokenizer(std::move(sp), model_path);
}

Tokenizer::Tokenizer(std::shared_ptr<const sentencepiece::SentencePieceProcessor> sp, std::string model_path)
    : sp_(std::move(sp)), model_path_(std::move(model_path)) {
  split_reason_ = spm_split_check(sp_->serialized_model_proto()).reason;
  if (split_reason_.empty()) cache_ = std::make_shared<SegmentCache>();
}

void Tokenizer::encode_into(const char* text, size_t size, std::vector<int32_t>& out) const {
  std::vector<int> ids;
  sentencepiece::util::Status status = sp_->Encode(std::string_view(text, size), &ids);
  if (!status.ok()) throw DataError(str_cat(model_path_, ": encoding failed: ", status.ToString()));
  out.insert(out.end(), ids.begin(), ids.end());
}

std::vector<int32_t> Tokenizer::encode_whole(const std::string& text) const {
  std::vector<int32_t> out;
  encode_into(text.data(), text.size(), out);
  return out;
}

std::vector<int32_t> Tokenizer::encode(const std::string& text) const {
  if (!cache_ || !spm_text_splits(text)) return encode_whole(text);
  std::vector<int32_t> out;
  out.reserve(text.size() / 3);
  size_t start = 0;
  auto segment = [&](size_t end) {
    const std::string_view seg(text.data() + start, end - start);
    if (seg.size() > SegmentCache::kMaxSegmentBytes) {
      encode_into(seg.data(), seg.size(), out);
    } else if (!cache_->lookup(seg, out)) {
      const size_t before = out.size();
      encode_into(seg.data(), seg.size(), out);
      cache_->insert(seg, out.data() + before, out.size() - before);
    }
    start = end;
  };
  for (size_t cut : spm_split_points(text)) segment(cut);
  if (start < text.size()) segment(text.size());
  return out;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  const int vocab = vocab_size();
  for (size_t i = 0; i < ids.size(); ++i)
    LINEA_CHECK_T(DataError, ids[i] >= 0 && ids[i] < vocab, "token id ", ids[i], " at position ", i,
                  " is outside the vocabulary of ", vocab, " pieces of ", model_path_);
  std::string text;
  sentencepiece::util::Status status = sp_->Decode(std::vector<int>(ids.begin(), ids.end()), &text);
  if (!status.ok()) throw DataError(str_cat(model_path_, ": decoding failed: ", status.ToString()));
  return text;
}

int Tokenizer::vocab_size() const { return sp_->GetPieceSize(); }
int Tokenizer::bos_id() const { return sp_->bos_id(); }
int Tokenizer::eos_id() const { return sp_->eos_id(); }
int Tokenizer::pad_id() const { return sp_->pad_id(); }
int Tokenizer::unk_id() const { return sp_->unk_id(); }

}  // namespace linea
