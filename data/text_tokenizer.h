// TextTokenizer: one interface over the SentencePiece, byte-level BPE and WordPiece tokenizers,
// and load_tokenizer, which picks the kind from a path (or a `kind:` prefix) for `prepare`.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace linea {

class TextTokenizer {
 public:
  virtual ~TextTokenizer() = default;

  // No bos/eos (or [CLS]/[SEP]) added.
  virtual std::vector<int32_t> encode(const std::string& text) const = 0;
  // DataError for ids outside the vocabulary.
  virtual std::string decode(const std::vector<int32_t>& ids) const = 0;
  virtual int vocab_size() const = 0;
  // Special ids; -1 where the tokenizer has none. SentencePiece: the model's own. Byte-level
  // BPE: eos "<|endoftext|>" (GPT-2), else "<|end_of_text|>" (Llama 3); bos "<|begin_of_text|>";
  // no pad or unk (every byte has a token). WordPiece (BERT): bos [CLS], eos [SEP], pad [PAD],
  // unk [UNK]. Each is a vocab entry or added token; -1 where the file lacks it.
  virtual int bos_id() const = 0;
  virtual int eos_id() const = 0;
  virtual int pad_id() const = 0;
  virtual int unk_id() const = 0;
  // "sentencepiece", "bpe" or "wordpiece".
  virtual const char* kind() const = 0;
  // The file it was loaded from (the spec without its `kind:` prefix).
  virtual const std::string& path() const = 0;
};

// A tokenizer spec taken apart: kind ("sentencepiece", "bpe", "wordpiece"), the file, and
// for WordPiece whether text is lowercased (and accents stripped).
struct TokenizerSpec {
  std::string kind;
  std::string path;
  bool lowercase = true;
};

// Spec forms: `<path>.model` (SentencePiece), `<path>.json` (byte-level BPE tokenizer.json),
// `<path>.txt` such as vocab.txt (WordPiece, lowercased), or a path of any name prefixed with
// `spm:`, `bpe:`, `wordpiece:` (lowercased) or `wordpiece-cased:` to force the kind.
// ConfigError listing these forms for anything else (or an empty path). Reads no file.
TokenizerSpec parse_tokenizer_spec(const std::string& spec);

// parse_tokenizer_spec, then the matching loader: DataError naming the path when the file is
// missing or not of that kind.
std::unique_ptr<TextTokenizer> load_tokenizer(const std::string& spec);

}  // namespace linea
