// WordPieceTokenizer: BERT's BasicTokenizer over code points with ICU character categories,
// full lowercasing and NFD, then greedy longest-match-first WordPiece with "##" continuations.
#include "data/wordpiece_tokenizer.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <fstream>

#include "core/error.h"

namespace linea {
namespace {

constexpr size_t kMaxCharsPerWord = 100;  // longer words become [UNK], as in BERT
constexpr char32_t kReplacement = 0xFFFD;
const char* const kSpecialTokens[] = {"[CLS]", "[SEP]", "[MASK]", "[PAD]", "[UNK]"};

// UTF-8 to code points; malformed bytes become U+FFFD (which clean-up then drops).
std::u32string decode_utf8(const std::string& s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    int len = 0;
    char32_t cp = 0;
    if (c < 0x80) { len = 1; cp = c; }
    else if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    bool ok = len > 0 && i + len <= s.size();
    for (int k = 1; ok && k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) ok = false;
      else cp = (cp << 6) | (cc & 0x3F);
    }
    static const char32_t kMinForLen[] = {0, 0, 0x80, 0x800, 0x10000};
    if (ok && (cp < kMinForLen[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
    if (!ok) {
      out.push_back(kReplacement);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += len;
  }
  return out;
}

void append_utf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string encode_utf8(const std::u32string& s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t cp : s) append_utf8(cp, out);
  return out;
}

// BERT's _is_whitespace: space, \t, \n, \r or category Zs.
bool is_whitespace(char32_t cp) {
  if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r') return true;
  return u_charType(static_cast<UChar32>(cp)) == U_SPACE_SEPARATOR;
}

// BERT's _is_control: any C* category except the whitespace controls \t \n \r.
bool is_control(char32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  switch (u_charType(static_cast<UChar32>(cp))) {
    case U_CONTROL_CHAR: case U_FORMAT_CHAR: case U_PRIVATE_USE_CHAR: case U_SURROGATE: case U_UNASSIGNED:
      return true;
    default:
      return false;
  }
}

// BERT's _is_punctuation: the ASCII non-alphanumeric printables, and every P* category.
bool is_punctuation(char32_t cp) {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126))
    return true;
  switch (u_charType(static_cast<UChar32>(cp))) {
    case U_DASH_PUNCTUATION: case U_START_PUNCTUATION: case U_END_PUNCTUATION: case U_CONNECTOR_PUNCTUATION:
    case U_OTHER_PUNCTUATION: case U_INITIAL_PUNCTUATION: case U_FINAL_PUNCTUATION:
      return true;
    default:
      return false;
  }
}

// BERT's _is_chinese_char: the CJK Unified Ideographs blocks (not kana or hangul).
bool is_cjk(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
         (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

std::u16string to_utf16(const std::u32string& s) {
  std::u16string out;
  out.reserve(s.size());
  for (char32_t cp : s) {
    if (cp < 0x10000) {
      out.push_back(static_cast<char16_t>(cp));
    } else {
      out.push_back(static_cast<char16_t>(0xD800 + ((cp - 0x10000) >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + ((cp - 0x10000) & 0x3FF)));
    }
  }
  return out;
}

std::u32string from_utf16(const UChar* s, int32_t n) {
  std::u32string out;
  out.reserve(n);
  for (int32_t i = 0; i < n;) {
    UChar32 cp;
    U16_NEXT(s, i, n, cp);
    out.push_back(static_cast<char32_t>(cp));
  }
  return out;
}

// Runs an ICU UTF-16 transform that reports its needed size through U_BUFFER_OVERFLOW_ERROR.
template <class Fn>
std::u16string icu_transform(const std::u16string& in, Fn&& fn) {
  std::u16string out(in.size() + 8, u'\0');
  for (int attempt = 0; attempt < 2; ++attempt) {
    UErrorCode err = U_ZERO_ERROR;
    const int32_t n = fn(reinterpret_cast<UChar*>(out.data()), static_cast<int32_t>(out.size()),
                         reinterpret_cast<const UChar*>(in.data()), static_cast<int32_t>(in.size()), &err);
    if (err == U_BUFFER_OVERFLOW_ERROR) {
      out.assign(static_cast<size_t>(n) + 1, u'\0');
      continue;
    }
    LINEA_ASSERT(U_SUCCESS(err), "ICU text transform failed: ", u_errorName(err));
    out.resize(static_cast<size_t>(n));
    return out;
  }
  LINEA_ASSERT(false, "ICU text transform kept overflowing its buffer");
}

// Full Unicode lowercasing (as Python's str.lower), then NFD with the nonspacing marks (Mn) dropped.
std::u32string lower_strip_accents(const std::u32string& word) {
  const std::u16string lowered = icu_transform(to_utf16(word), [](UChar* dst, int32_t cap, const UChar* src,
                                                                  int32_t len, UErrorCode* err) {
    return u_strToLower(dst, cap, src, len, "", err);
  });
  UErrorCode err = U_ZERO_ERROR;
  const UNormalizer2* nfd = unorm2_getNFDInstance(&err);
  LINEA_ASSERT(U_SUCCESS(err), "ICU NFD normalizer unavailable: ", u_errorName(err));
  const std::u16string decomposed = icu_transform(lowered, [nfd](UChar* dst, int32_t cap, const UChar* src,
                                                                 int32_t len, UErrorCode* e) {
    return unorm2_normalize(nfd, src, len, dst, cap, e);
  });
  std::u32string out;
  for (char32_t cp : from_utf16(reinterpret_cast<const UChar*>(decomposed.data()),
                                static_cast<int32_t>(decomposed.size())))
    if (u_charType(static_cast<UChar32>(cp)) != U_NON_SPACING_MARK) out.push_back(cp);
  return out;
}

}  // namespace

WordPieceTokenizer WordPieceTokenizer::load(const std::string& vocab_txt, bool lowercase) {
  std::ifstream in(vocab_txt, std::ios::binary);
  LINEA_CHECK_T(DataError, in.is_open(), "WordPiece vocabulary not found or unreadable: ", vocab_txt);
  WordPieceTokenizer tok;
  tok.lowercase_ = lowercase;
  tok.vocab_path_ = vocab_txt;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const int32_t id = static_cast<int32_t>(tok.tokens_.size());
    tok.ids_[line] = id;  // a repeated token keeps its last id, as HuggingFace's load_vocab does
    tok.tokens_.push_back(line);
  }
  LINEA_CHECK_T(DataError, !in.bad(), "cannot read WordPiece vocabulary ", vocab_txt);
  LINEA_CHECK_T(DataError, !tok.tokens_.empty(), "WordPiece vocabulary ", vocab_txt, " is empty");
  tok.cls_id_ = tok.token_id("[CLS]");
  tok.sep_id_ = tok.token_id("[SEP]");
  tok.pad_id_ = tok.token_id("[PAD]");
  tok.mask_id_ = tok.token_id("[MASK]");
  tok.unk_id_ = tok.token_id("[UNK]");
  LINEA_CHECK_T(DataError, tok.unk_id_ >= 0, "WordPiece vocabulary ", vocab_txt, " has no [UNK] token");
  return tok;
}

int32_t WordPieceTokenizer::token_id(const std::string& token) const {
  auto it = ids_.find(token);
  return it == ids_.end() ? -1 : it->second;
}

std::vector<bool> WordPieceTokenizer::continuation_mask() const {
  std::vector<bool> mask(tokens_.size());
  for (size_t i = 0; i < tokens_.size(); ++i) mask[i] = tokens_[i].size() > 2 && tokens_[i].compare(0, 2, "##") == 0;
  return mask;
}

void WordPieceTokenizer::wordpiece(const std::string& word, std::vector<int32_t>& out) const {
  // Byte offsets of the code point boundaries, so pieces never cut a character.
  std::vector<size_t> bounds;
  for (size_t i = 0; i < word.size(); ++i)
    if ((static_cast<unsigned char>(word[i]) & 0xC0) != 0x80) bounds.push_back(i);
  bounds.push_back(word.size());
  const size_t n_chars = bounds.size() - 1;
  if (n_chars > kMaxCharsPerWord) {
    out.push_back(unk_id_);
    return;
  }
  const size_t first = out.size();
  size_t start = 0;
  std::string piece;
  while (start < n_chars) {
    int32_t found = -1;
    size_t end = n_chars;
    for (; end > start; --end) {
      piece.assign(start > 0 ? "##" : "");
      piece.append(word, bounds[start], bounds[end] - bounds[start]);
      auto it = ids_.find(piece);
      if (it != ids_.end()) {
        found = it->second;
        break;
      }
    }
    if (found < 0) {  // no piece matches here: the whole word is unknown
      out.resize(first);
      out.push_back(unk_id_);
      return;
    }
    out.push_back(found);
    start = end;
  }
}

void WordPieceTokenizer::encode_plain(const std::string& text, std::vector<int32_t>& out) const {
  // Clean up and isolate CJK ideographs, then split on whitespace.
  std::u32string cleaned;
  for (char32_t cp : decode_utf8(text)) {
    if (cp == 0 || cp == kReplacement || is_control(cp)) continue;
    if (is_whitespace(cp)) {
      cleaned.push_back(U' ');
    } else if (is_cjk(cp)) {
      cleaned.push_back(U' ');
      cleaned.push_back(cp);
      cleaned.push_back(U' ');
    } else {
      cleaned.push_back(cp);
    }
  }
  size_t i = 0;
  while (i < cleaned.size()) {
    if (cleaned[i] == U' ') {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cleaned.size() && cleaned[j] != U' ') ++j;
    std::u32string word = cleaned.substr(i, j - i);
    i = j;
    if (lowercase_) word = lower_strip_accents(word);
    // Each punctuation character becomes a word of its own.
    std::u32string run;
    for (char32_t cp : word) {
      if (is_punctuation(cp)) {
        if (!run.empty()) wordpiece(encode_utf8(run), out);
        run.clear();
        wordpiece(encode_utf8(std::u32string(1, cp)), out);
      } else {
        run.push_back(cp);
      }
    }
    if (!run.empty()) wordpiece(encode_utf8(run), out);
  }
}

std::vector<int32_t> WordPieceTokenizer::encode(const std::string& text) const {
  std::vector<int32_t> out;
  size_t chunk = 0;  // start of the text not yet encoded
  for (size_t pos = 0; pos < text.size();) {
    int32_t special = -1;
    size_t len = 0;
    if (text[pos] == '[') {
      for (const char* s : kSpecialTokens) {
        const std::string name(s);
        const int32_t id = token_id(name);
        if (id >= 0 && text.compare(pos, name.size(), name) == 0) {
          special = id;
          len = name.size();
          break;
        }
      }
    }
    if (special < 0) {
      ++pos;
      continue;
    }
    encode_plain(text.substr(chunk, pos - chunk), out);
    out.push_back(special);
    pos += len;
    chunk = pos;
  }
  encode_plain(text.substr(chunk), out);
  return out;
}

std::string WordPieceTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    const int32_t id = ids[i];
    LINEA_CHECK_T(DataError, id >= 0 && id < vocab_size(), "token id ", id, " at position ", i,
                  " is outside the vocabulary of ", vocab_size());
    const std::string& tok = tokens_[static_cast<size_t>(id)];
    if (i > 0 && tok.size() > 2 && tok.compare(0, 2, "##") == 0) {
      out.append(tok, 2, std::string::npos);
    } else {
      if (i > 0) out.push_back(' ');
      out.append(tok);
    }
  }
  return out;
}

}  // namespace linea
