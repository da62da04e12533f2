// SentencePiece tokenizers: train a model from text files (deterministically) and load one
// to encode text into token ids and decode them back.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace linea {

enum class SentencePieceType { bpe, unigram };

// Trains on every non-empty line of `text_files`, in order (no sampling or shuffling),
// with full character coverage, byte fallback and NFKC; special ids unk 0, bos 1, eos 2,
// pad 3. Writes <model_prefix>.model and .vocab and returns the .model path.
std::string train_sentencepiece(const std::vector<std::string>& text_files, const std::string& model_prefix,
                                int vocab_size, SentencePieceType type = SentencePieceType::bpe, int num_threads = 1);

class SegmentCache;

class Tokenizer {
 public:
  // DataError naming the path when it is missing or not a SentencePiece model.
  static Tokenizer load(const std::string& model_path);

  // No bos/eos added. Equal to encode_whole(text); when splits_at_spaces(), computed segment
  // by segment (see data/spm_split.h) with the ids of short segments cached, since
  // SentencePiece's cost per byte grows with the input's length and words repeat.
  std::vector<int32_t> encode(const std::string& text) const;
  // One SentencePiece call on the whole text: the reference encode() must equal.
  std::vector<int32_t> encode_whole(const std::string& text) const;
  std::string decode(const std::vector<int32_t>& ids) const;  // DataError for ids outside the vocab
  // Whether the model allows exact segment-wise encoding, and if not, why.
  bool splits_at_spaces() const { return split_reason_.empty(); }
  const std::string& split_reason() const { return split_reason_; }

  int vocab_size() const;
  // Special ids; -1 where the model has none.
  int bos_id() const;
  int eos_id() const;
  int pad_id() const;
  int unk_id() const;
  const std::string& model_path() const { return model_path_; }

 private:
  Tokenizer(std::shared_ptr<const sentencepiece::SentencePieceProcessor> sp, std::string model_path);
  // Appends the ids of `text` (one SentencePiece call) to `out`.
  void encode_into(const char* text, size_t size, std::vector<int32_t>& out) const;

  std::shared_ptr<const sentencepiece::SentencePieceProcessor> sp_;
  std::string model_path_;
  std::string split_reason_;              // empty: segment-wise encoding is exact
  std::shared_ptr<SegmentCache> cache_;   // shared by copies, safe across threads
};

}  // namespace linea
