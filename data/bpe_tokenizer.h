// Byte-level BPE tokenizer (GPT-2 / Llama-3 style) loaded from a Hugging Face tokenizer.json:
// added tokens matched literally, PCRE2 pre-tokenization, ranked merges, byte-exact decode.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace linea {

namespace detail {
struct BpeModel;
}

class BpeTokenizer {
 public:
  // Reads model.vocab, model.merges ("a b" strings or [a, b] pairs), added_tokens and the
  // pre_tokenizer (ByteLevel, or a Sequence with a Split regex and ByteLevel). DataError naming
  // the path and the JSON key when the file is missing, malformed or not byte-level BPE.
  static BpeTokenizer load(const std::string& tokenizer_json);

  // Added tokens become their ids wherever they occur; no bos/eos is added.
  std::vector<int32_t> encode(const std::string& text) const;
  // Bytes back exactly (added tokens as their content); DataError for ids outside the vocab.
  std::string decode(const std::vector<int32_t>& ids) const;

  // One past the largest id of the vocab and the added tokens.
  int vocab_size() const;
  // The id of a vocab entry or added token, as spelled in tokenizer.json; -1 if absent.
  int32_t token_id(const std::string& token) const;
  const std::string& path() const;

 private:
  explicit BpeTokenizer(std::shared_ptr<detail::BpeModel> model) : model_(std::move(model)) {}
  std::shared_ptr<detail::BpeModel> model_;
};

}  // namespace linea
