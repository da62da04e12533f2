// BpeTokenizer: tokenizer.json parsing (nlohmann_json), PCRE2 pre-tokenization stages, GPT-2's
// bytes_to_unicode alphabet, merges by rank over token ids with a bounded cache.
#include "data/bpe_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "core/error.h"

namespace linea {
namespace detail {

using nlohmann::json;

// GPT-2's ByteLevel split pattern, the default when a ByteLevel pre-tokenizer has use_regex.
constexpr const char* kGpt2Pattern =
    R"re('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)re";
constexpr size_t kCacheLimit = 1 << 17;

struct Pcre2Deleter {
  void operator()(pcre2_code* code) const { pcre2_code_free(code); }
};

// One pre-tokenization step: optionally prefix a space, then optionally split (Isolated).
struct Stage {
  bool prefix_space = false;
  std::unique_ptr<pcre2_code, Pcre2Deleter> regex;
};

struct BpeModel {
  std::string path;
  std::unordered_map<std::string, int32_t> vocab;
  std::vector<std::string> id_to_token;  // "" for ids nothing maps to
  std::vector<bool> id_known;
  std::vector<bool> id_added;            // decoded as literal content
  std::vector<std::pair<std::string, int32_t>> added;
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges;  // (left, right) -> (rank, merged)
  std::array<int32_t, 256> byte_id{};
  std::array<std::string, 256> byte_char;
  std::unordered_map<uint32_t, uint8_t> char_byte;
  std::vector<Stage> stages;
  bool ignore_merges = false;
  int32_t unk_id = -1;
  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache;
};

namespace {

std::string utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

// Length of the UTF-8 sequence starting at s[i] (1 for an invalid lead byte or a truncated tail).
size_t utf8_length(const std::string& s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
  if (i + n > s.size()) return 1;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 1;
  return n;
}

uint32_t decode_utf8(const std::string& s, size_t i, size_t n) {
  const auto c = static_cast<unsigned char>(s[i]);
  uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
  for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  return cp;
}

// GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the rest to 256 + n.
std::array<uint32_t, 256> bytes_to_unicode() {
  std::array<uint32_t, 256> map{};
  uint32_t next = 256;
  for (uint32_t b = 0; b < 256; ++b) {
    bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    map[b] = printable ? b : next++;
  }
  return map;
}

uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

class JsonReader {
 public:
  explicit JsonReader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw DataError(str_cat("tokenizer.json ", path_, ": ", key, " ", what));
  }
  const json& at(const json& obj, const std::string& parent, const char* key) const {
    std::string name = parent.empty() ? key : parent + "." + key;
    if (!obj.is_object()) fail(parent.empty() ? "(root)" : parent, "is not an object");
    auto it = obj.find(key);
    if (it == obj.end()) fail(name, "is missing");
    return *it;
  }
  std::string string_at(const json& obj, const std::string& parent, const char* key) const {
    const json& v = at(obj, parent, key);
    if (!v.is_string()) fail(parent + "." + key, "is not a string");
    return v.get<std::string>();
  }
  // The value if present and not null, else `fallback`.
  bool bool_or(const json& obj, const std::string& parent, const char* key, bool fallback) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) fail(parent + "." + key, "is not a boolean");
    return it->get<bool>();
  }

  std::unique_ptr<pcre2_code, Pcre2Deleter> compile(const std::string& pattern, bool literal,
                                                    const std::string& key) const {
    uint32_t options = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | (literal ? PCRE2_LITERAL : PCRE2_UCP);
    int error = 0;
    PCRE2_SIZE offset = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options,
                                     &error, &offset, nullptr);
    if (code == nullptr) {
      std::array<PCRE2_UCHAR, 256> msg{};
      pcre2_get_error_message(error, msg.data(), msg.size());
      fail(key, str_cat("regex does not compile at offset ", offset, ": ", reinterpret_cast<const char*>(msg.data())));
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // interpreted matching where JIT is unavailable
    return std::unique_ptr<pcre2_code, Pcre2Deleter>(code);
  }

  // Adds the stages of one pre-tokenizer; returns whether it (or a part) is ByteLevel.
  bool add_pre_tokenizer(const json& pt, const std::string& key, std::vector<Stage>& stages) const {
    std::string type = string_at(pt, key, "type");
    if (type == "ByteLevel") {
      Stage stage;
      stage.prefix_space = bool_or(pt, key, "add_prefix_space", false);
      if (bool_or(pt, key, "use_regex", true)) stage.regex = compile(kGpt2Pattern, false, key);
      stages.push_back(std::move(stage));
      return true;
    }
    if (type == "Split") {
      const json& pattern = at(pt, key, "pattern");
      std::string behavior = string_at(pt, key, "behavior");
      if (behavior != "Isolated") fail(key + ".behavior", "\"" + behavior + "\" is not supported (only Isolated)");
      if (bool_or(pt, key, "invert", false)) fail(key + ".invert", "true is not supported");
      Stage stage;
      if (pattern.is_object() && pattern.contains("Regex"))
        stage.regex = compile(string_at(pattern, key + ".pattern", "Regex"), false, key + ".pattern.Regex");
      else if (pattern.is_object() && pattern.contains("String"))
        stage.regex = compile(string_at(pattern, key + ".pattern", "String"), true, key + ".pattern.String");
      else
        fail(key + ".pattern", "has neither Regex nor String");
      stages.push_back(std::move(stage));
      return false;
    }
    if (type == "Sequence") {
      const json& list = at(pt, key, "pretokenizers");
      if (!list.is_array()) fail(key + ".pretokenizers", "is not an array");
      bool byte_level = false;
      for (size_t i = 0; i < list.size(); ++i)
        byte_level |= add_pre_tokenizer(list[i], str_cat(key, ".pretokenizers[", i, "]"), stages);
      return byte_level;
    }
    fail(key + ".type", "\"" + type + "\" is not supported (ByteLevel, Split, Sequence)");
  }

 private:
  std::string path_;
};

// Splits `piece` at the regex's matches, keeping matches and the text between them.
void split_isolated(const pcre2_code* regex, const std::string& piece, const std::string& path,
                    std::vector<std::string>& out) {
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> md(
      pcre2_match_data_create_from_pattern(regex, nullptr), &pcre2_match_data_free);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
  size_t emitted = 0, offset = 0;
  while (offset < piece.size()) {
    int rc = pcre2_match(regex, subject, piece.size(), offset, 0, md.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      std::array<PCRE2_UCHAR, 256> msg{};
      pcre2_get_error_message(rc, msg.data(), msg.size());
      throw DataError(str_cat("tokenizer ", path, ": pre-tokenizer regex failed: ",
                              reinterpret_cast<const char*>(msg.data())));
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
    size_t begin = ov[0], end = ov[1];
    if (begin == end) {  // an empty match splits nothing; move on by one character
      offset = begin + utf8_length(piece, begin);
      continue;
    }
    if (begin > emitted) out.push_back(piece.substr(emitted, begin - emitted));
    out.push_back(piece.substr(begin, end - begin));
    emitted = offset = end;
  }
  if (emitted < piece.size()) out.push_back(piece.substr(emitted));
}

}  // namespace
}  // namespace detail

using detail::json;

BpeTokenizer BpeTokenizer::load(const std::string& tokenizer_json) {
  LINEA_CHECK_T(DataError, std::filesystem::is_regular_file(tokenizer_json), "tokenizer.json not found: ",
                tokenizer_json);
  std::ifstream in(tokenizer_json, std::ios::binary);
  LINEA_CHECK_T(DataError, in.good(), "cannot open tokenizer.json ", tokenizer_json);
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::exception& e) {
    throw DataError(str_cat("tokenizer.json ", tokenizer_json, ": not valid JSON: ", e.what()));
  }
  detail::JsonReader r(tokenizer_json);
  auto m = std::make_shared<detail::BpeModel>();
  m->path = tokenizer_json;

  const json& model = r.at(doc, "", "model");
  if (model.contains("type") && r.string_at(model, "model", "type") != "BPE")
    r.fail("model.type", "\"" + model["type"].get<std::string>() + "\" is not BPE");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    auto it = model.find(key);
    if (it != model.end() && !it->is_null() && !(it->is_string() && it->get<std::string>().empty()))
      r.fail(std::string("model.") + key, "is not supported");
  }
  m->ignore_merges = r.bool_or(model, "model", "ignore_merges", false);

  const json& vocab = r.at(model, "model", "vocab");
  if (!vocab.is_object() || vocab.empty()) r.fail("model.vocab", "is not a non-empty object");
  int64_t max_id = -1;
  auto note_id = [&](const std::string& key, const json& v) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > std::numeric_limits<int32_t>::max())
      r.fail(key, "is not a valid id");
    max_id = std::max(max_id, v.get<int64_t>());
    return static_cast<int32_t>(v.get<int64_t>());
  };
  for (auto it = vocab.begin(); it != vocab.end(); ++it) m->vocab[it.key()] = note_id("model.vocab[\"" + it.key() + "\"]", it.value());

  auto added_it = doc.find("added_tokens");
  if (added_it != doc.end() && !added_it->is_null()) {
    if (!added_it->is_array()) r.fail("added_tokens", "is not an array");
    for (size_t i = 0; i < added_it->size(); ++i) {
      std::string key = str_cat("added_tokens[", i, "]");
      const json& t = (*added_it)[i];
      std::string content = r.string_at(t, key, "content");
      int32_t id = note_id(key + ".id", r.at(t, key, "id"));
      if (content.empty()) r.fail(key + ".content", "is empty");
      m->added.emplace_back(std::move(content), id);
    }
  }

  const size_t n = static_cast<size_t>(max_id + 1);
  m->id_to_token.resize(n);
  m->id_known.assign(n, false);
  m->id_added.assign(n, false);
  for (const auto& [token, id] : m->vocab) {
    m->id_to_token[id] = token;
    m->id_known[id] = true;
  }
  for (const auto& [content, id] : m->added) {
    m->id_to_token[id] = content;
    m->id_known[id] = true;
    m->id_added[id] = true;
  }

  const std::array<uint32_t, 256> b2u = detail::bytes_to_unicode();
  for (int b = 0; b < 256; ++b) {
    m->byte_char[b] = detail::utf8(b2u[b]);
    m->char_byte[b2u[b]] = static_cast<uint8_t>(b);
    auto it = m->vocab.find(m->byte_char[b]);
    m->byte_id[b] = it == m->vocab.end() ? -1 : it->second;
  }

  const json& merges = r.at(model, "model", "merges");
  if (!merges.is_array()) r.fail("model.merges", "is not an array");
  for (size_t i = 0; i < merges.size(); ++i) {
    const json& mg = merges[i];
    std::string key = str_cat("model.merges[", i, "]");
    std::string a, b;
    if (mg.is_string()) {
      const std::string s = mg.get<std::string>();
      size_t space = s.find(' ');
      if (space == std::string::npos || space == 0 || space + 1 == s.size() || s.find(' ', space + 1) != std::string::npos)
        r.fail(key, "is not \"left right\"");
      a = s.substr(0, space);
      b = s.substr(space + 1);
    } else if (mg.is_array() && mg.size() == 2 && mg[0].is_string() && mg[1].is_string()) {
      a = mg[0].get<std::string>();
      b = mg[1].get<std::string>();
    } else {
      r.fail(key, "is neither \"left right\" nor [left, right]");
    }
    auto ia = m->vocab.find(a), ib = m->vocab.find(b), iab = m->vocab.find(a + b);
    if (ia == m->vocab.end() || ib == m->vocab.end() || iab == m->vocab.end())
      r.fail(key, "names a token outside model.vocab");
    // The first occurrence of a pair keeps its (lowest) rank, as in the reference.
    m->merges.emplace(detail::pair_key(ia->second, ib->second), std::make_pair(static_cast<int32_t>(i), iab->second));
  }

  auto unk = model.find("unk_token");
  if (unk != model.end() && !unk->is_null()) {
    std::string name = r.string_at(model, "model", "unk_token");
    auto it = m->vocab.find(name);
    if (it == m->vocab.end()) r.fail("model.unk_token", "is not in model.vocab");
    m->unk_id = it->second;
  }

  auto norm = doc.find("normalizer");
  if (norm != doc.end() && !norm->is_null()) r.fail("normalizer", "is not supported (only null)");
  const json& pre = r.at(doc, "", "pre_tokenizer");
  if (pre.is_null() || !r.add_pre_tokenizer(pre, "pre_tokenizer", m->stages))
    r.fail("pre_tokenizer", "has no ByteLevel step (only byte-level BPE is supported)");

  // Longest first, so that of two added tokens starting at one place the longer wins.
  std::stable_sort(m->added.begin(), m->added.end(),
                   [](const auto& x, const auto& y) { return x.first.size() > y.first.size(); });
  return BpeTokenizer(std::move(m));
}

namespace {

// BPE of one pre-token (raw bytes) into ids, through the model's cache.
void encode_piece(const detail::BpeModel& m, const std::string& piece, std::vector<int32_t>& out) {
  {
    std::lock_guard<std::mutex> lock(m.cache_mutex);
    auto it = m.cache.find(piece);
    if (it != m.cache.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> word;
  if (m.ignore_merges) {
    std::string mapped;
    for (unsigned char c : piece) mapped += m.byte_char[c];
    auto it = m.vocab.find(mapped);
    if (it != m.vocab.end()) word.push_back(it->second);
  }
  if (word.empty()) {
    word.reserve(piece.size());
    for (unsigned char c : piece) {
      int32_t id = m.byte_id[c] >= 0 ? m.byte_id[c] : m.unk_id;
      LINEA_CHECK_T(DataError, id >= 0, "tokenizer ", m.path, ": byte ", static_cast<int>(c),
                    " has no token in model.vocab and there is no unk_token");
      word.push_back(id);
    }
    while (word.size() > 1) {
      int32_t best_rank = std::numeric_limits<int32_t>::max(), left = -1, right = -1, merged = -1;
      for (size_t i = 0; i + 1 < word.size(); ++i) {
        auto it = m.merges.find(detail::pair_key(word[i], word[i + 1]));
        if (it != m.merges.end() && it->second.first < best_rank) {
          best_rank = it->second.first;
          merged = it->second.second;
          left = word[i];
          right = word[i + 1];
        }
      }
      if (merged < 0) break;
      std::vector<int32_t> next;
      next.reserve(word.size());
      for (size_t i = 0; i < word.size(); ++i) {
        if (i + 1 < word.size() && word[i] == left && word[i + 1] == right) {
          next.push_back(merged);
          ++i;
        } else {
          next.push_back(word[i]);
        }
      }
      word.swap(next);
    }
  }
  out.insert(out.end(), word.begin(), word.end());
  std::lock_guard<std::mutex> lock(m.cache_mutex);
  if (m.cache.size() >= detail::kCacheLimit) m.cache.clear();
  m.cache.emplace(piece, std::move(word));
}

// Pre-tokenizes one stretch of text between added tokens and appends its ids.
void encode_segment(const detail::BpeModel& m, const std::string& segment, std::vector<int32_t>& out) {
  std::vector<std::string> pieces{segment}, next;
  for (const detail::Stage& stage : m.stages) {
    if (stage.prefix_space)
      for (std::string& p : pieces)
        if (p.empty() || p[0] != ' ') p.insert(p.begin(), ' ');
    if (!stage.regex) continue;
    next.clear();
    for (const std::string& p : pieces) detail::split_isolated(stage.regex.get(), p, m.path, next);
    pieces.swap(next);
  }
  for (const std::string& p : pieces)
    if (!p.empty()) encode_piece(m, p, out);
}

}  // namespace

std::vector<int32_t> BpeTokenizer::encode(const std::string& text) const {
  const detail::BpeModel& m = *model_;
  std::vector<int32_t> ids;
  // Next occurrence of each added token at or after `pos` (npos when none is left).
  std::vector<size_t> next(m.added.size());
  for (size_t k = 0; k < m.added.size(); ++k) next[k] = text.find(m.added[k].first);
  size_t pos = 0;
  while (true) {
    size_t best = std::string::npos, best_k = 0;
    for (size_t k = 0; k < m.added.size(); ++k) {
      if (next[k] != std::string::npos && next[k] < pos) next[k] = text.find(m.added[k].first, pos);
      if (next[k] < best) {  // strict: among equal starts the earlier (longer) token wins
        best = next[k];
        best_k = k;
      }
    }
    if (best == std::string::npos) break;
    if (best > pos) encode_segment(m, text.substr(pos, best - pos), ids);
    ids.push_back(m.added[best_k].second);
    pos = best + m.added[best_k].first.size();
  }
  if (pos < text.size()) encode_segment(m, text.substr(pos), ids);
  return ids;
}

std::string BpeTokenizer::decode(const std::vector<int32_t>& ids) const {
  const detail::BpeModel& m = *model_;
  std::string text;
  for (int32_t id : ids) {
    LINEA_CHECK_T(DataError, id >= 0 && static_cast<size_t>(id) < m.id_known.size() && m.id_known[id], "token id ",
                  id, " is outside the vocab of ", m.path);
    const std::string& token = m.id_to_token[id];
    if (m.id_added[id]) {
      text += token;
      continue;
    }
    for (size_t i = 0; i < token.size();) {
      size_t n = detail::utf8_length(token, i);
      auto it = m.char_byte.find(detail::decode_utf8(token, i, n));
      if (it != m.char_byte.end())
        text += static_cast<char>(it->second);
      else
        text.append(token, i, n);
      i += n;
    }
  }
  return text;
}

int BpeTokenizer::vocab_size() const { return static_cast<int>(model_->id_known.size()); }

int32_t BpeTokenizer::token_id(const std::string& token) const {
  auto it = model_->vocab.find(token);
  if (it != model_->vocab.end()) return it->second;
  for (const auto& [content, id] : model_->added)
    if (content == token) return id;
  return -1;
}

const std::string& BpeTokenizer::path() const { return model_->path; }

}  // namespace linea
