// load_tokenizer: the spec names the kind (by prefix or file name); small adapters give the
// three tokenizer classes the TextTokenizer interface without changing them.
#include "data/text_tokenizer.h"

#include "core/error.h"
#include "data/bpe_tokenizer.h"
#include "data/tokenizer.h"
#include "data/wordpiece_tokenizer.h"

namespace linea {
namespace {

constexpr const char* kSpecForms =
    "expected <path>.model (SentencePiece), <path>.json (byte-level BPE tokenizer.json), <path>.txt such as "
    "vocab.txt (WordPiece, lowercased), or spm:<path>, bpe:<path>, wordpiece:<path>, wordpiece-cased:<path>";

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

class SentencePieceAdapter final : public TextTokenizer {
 public:
  explicit SentencePieceAdapter(Tokenizer tok) : tok_(std::move(tok)) {}
  std::vector<int32_t> encode(const std::string& text) const override { return tok_.encode(text); }
  std::string decode(const std::vector<int32_t>& ids) const override { return tok_.decode(ids); }
  int vocab_size() const override { return tok_.vocab_size(); }
  int bos_id() const override { return tok_.bos_id(); }
  int eos_id() const override { return tok_.eos_id(); }
  int pad_id() const override { return tok_.pad_id(); }
  int unk_id() const override { return tok_.unk_id(); }
  const char* kind() const override { return "sentencepiece"; }
  const std::string& path() const override { return tok_.model_path(); }

 private:
  Tokenizer tok_;
};

class BpeAdapter final : public TextTokenizer {
 public:
  explicit BpeAdapter(BpeTokenizer tok)
      : tok_(std::move(tok)),
        bos_(tok_.token_id("<|begin_of_text|>")),
        eos_(tok_.token_id("<|endoftext|>") >= 0 ? tok_.token_id("<|endoftext|>") : tok_.token_id("<|end_of_text|>")) {}
  std::vector<int32_t> encode(const std::string& text) const override { return tok_.encode(text); }
  std::string decode(const std::vector<int32_t>& ids) const override { return tok_.decode(ids); }
  int vocab_size() const override { return tok_.vocab_size(); }
  int bos_id() const override { return bos_; }
  int eos_id() const override { return eos_; }
  int pad_id() const override { return -1; }
  int unk_id() const override { return -1; }
  const char* kind() const override { return "bpe"; }
  const std::string& path() const override { return tok_.path(); }

 private:
  BpeTokenizer tok_;
  int bos_, eos_;
};

class WordPieceAdapter final : public TextTokenizer {
 public:
  explicit WordPieceAdapter(WordPieceTokenizer tok) : tok_(std::move(tok)) {}
  std::vector<int32_t> encode(const std::string& text) const override { return tok_.encode(text); }
  std::string decode(const std::vector<int32_t>& ids) const override { return tok_.decode(ids); }
  int vocab_size() const override { return tok_.vocab_size(); }
  int bos_id() const override { return tok_.cls_id(); }
  int eos_id() const override { return tok_.sep_id(); }
  int pad_id() const override { return tok_.pad_id(); }
  int unk_id() const override { return tok_.unk_id(); }
  const char* kind() const override { return "wordpiece"; }
  const std::string& path() const override { return tok_.vocab_path(); }

 private:
  WordPieceTokenizer tok_;
};

}  // namespace

TokenizerSpec parse_tokenizer_spec(const std::string& spec) {
  struct Prefix {
    const char* prefix;
    const char* kind;
    bool lowercase;
  };
  static const Prefix kPrefixes[] = {{"spm:", "sentencepiece", true},
                                     {"bpe:", "bpe", true},
                                     {"wordpiece:", "wordpiece", true},
                                     {"wordpiece-cased:", "wordpiece", false}};
  for (const Prefix& p : kPrefixes)
    if (starts_with(spec, p.prefix)) {
      std::string path = spec.substr(std::char_traits<char>::length(p.prefix));
      LINEA_CHECK_T(ConfigError, !path.empty(), "tokenizer spec '", spec, "' names no file; ", kSpecForms);
      return {p.kind, std::move(path), p.lowercase};
    }
  if (ends_with(spec, ".model")) return {"sentencepiece", spec, true};
  if (ends_with(spec, ".json")) return {"bpe", spec, true};
  if (ends_with(spec, ".txt")) return {"wordpiece", spec, true};
  throw ConfigError(str_cat("tokenizer spec '", spec, "' is of no known form; ", kSpecForms));
}

std::unique_ptr<TextTokenizer> load_tokenizer(const std::string& spec) {
  const TokenizerSpec s = parse_tokenizer_spec(spec);
  if (s.kind == "sentencepiece") return std::make_unique<SentencePieceAdapter>(Tokenizer::load(s.path));
  if (s.kind == "bpe") return std::make_unique<BpeAdapter>(BpeTokenizer::load(s.path));
  return std::make_unique<WordPieceAdapter>(WordPieceTokenizer::load(s.path, s.lowercase));
}

}  // namespace linea
