// BERT WordPiece tokenizer loaded from a `vocab.txt`: BERT's BasicTokenizer (clean text, lowercase
// and accent stripping, punctuation and CJK splitting) followed by greedy longest-match WordPiece.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace linea {

class WordPieceTokenizer {
 public:
  // One token per line, the line number (from 0) being its id. DataError naming the path when
  // the file is missing, empty or has no [UNK] token. `lowercase` also strips accents, as BERT's
  // uncased models do.
  static WordPieceTokenizer load(const std::string& vocab_txt, bool lowercase = true);

  // No [CLS]/[SEP] added. The literal special tokens [CLS] [SEP] [MASK] [PAD] [UNK] in the text
  // are kept whole (never lowercased or split) and map to their ids.
  std::vector<int32_t> encode(const std::string& text) const;
  // Tokens joined by spaces with " ##" removed; DataError for ids outside the vocabulary.
  std::string decode(const std::vector<int32_t>& ids) const;

  int vocab_size() const { return static_cast<int>(tokens_.size()); }
  // The id of `token` exactly as spelled in the vocabulary; -1 when absent.
  int32_t token_id(const std::string& token) const;
  // Special ids; -1 where the vocabulary lacks the token ([UNK] is always present).
  int32_t cls_id() const { return cls_id_; }
  int32_t sep_id() const { return sep_id_; }
  int32_t pad_id() const { return pad_id_; }
  int32_t mask_id() const { return mask_id_; }
  int32_t unk_id() const { return unk_id_; }
  bool lowercase() const { return lowercase_; }
  const std::string& vocab_path() const { return vocab_path_; }
  // Per id: true for "##" continuation pieces (for whole-word masking).
  std::vector<bool> continuation_mask() const;

 private:
  WordPieceTokenizer() = default;
  // Appends the WordPiece ids of one pre-tokenized word (UTF-8).
  void wordpiece(const std::string& word, std::vector<int32_t>& out) const;
  // BERT's BasicTokenizer plus WordPiece over text holding no special token.
  void encode_plain(const std::string& text, std::vector<int32_t>& out) const;

  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int32_t> ids_;
  bool lowercase_ = true;
  std::string vocab_path_;
  int32_t cls_id_ = -1, sep_id_ = -1, pad_id_ = -1, mask_id_ = -1, unk_id_ = -1;
};

}  // namespace linea
