// DocumentReader: lines come from a zlib gzFile (transparent for uncompressed files) and
// are validated as UTF-8 before being split into text paragraphs or parsed as JSONL.
#include "data/readers.h"

#include <zlib.h>

#include <cctype>
#include <cstring>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/error.h"

namespace linea {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_blank(const std::string& line) {
  for (unsigned char c : line)
    if (!std::isspace(c)) return false;
  return true;
}

// The length of the well-formed UTF-8 sequence at s[i], or 0 with `skip` set to the length
// of its maximal ill-formed prefix (at least 1), which becomes one U+FFFD.
size_t utf8_sequence(const std::string& s, size_t i, size_t& skip) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;       // overlong
    else if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;       // overlong
    else if (c == 0xF4) hi = 0x8F;  // beyond U+10FFFF
  } else {
    skip = 1;
    return 0;
  }
  size_t k = 1;
  for (; k < len && i + k < s.size(); ++k) {
    const unsigned char b = static_cast<unsigned char>(s[i + k]);
    if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) break;
  }
  if (k == len) return len;
  skip = k;
  return 0;
}

}  // namespace

// Lines of a file read through gzread, with the line number and starting byte offset of
// the last line returned.
class DocumentReader::LineSource {
 public:
  explicit LineSource(const std::string& path) : path_(path), buf_(1 << 16) {
    file_ = gzopen(path.c_str(), "rb");
    LINEA_CHECK_T(DataError, file_ != nullptr, "cannot read input file: ", path);
    gzbuffer(file_, 1 << 17);
  }
  ~LineSource() { gzclose(file_); }

  bool read_line(std::string& line) {
    line.clear();
    line_offset_ = offset_;
    bool any = false;
    for (;;) {
      if (pos_ == len_ && !fill()) break;
      any = true;
      const char* start = buf_.data() + pos_;
      const void* nl = std::memchr(start, '\n', len_ - pos_);
      const size_t n = nl ? size_t(static_cast<const char*>(nl) - start) : len_ - pos_;
      line.append(start, n);
      pos_ += n;
      offset_ += int64_t(n);
      if (nl) {
        ++pos_;
        ++offset_;
        break;
      }
    }
    if (any) ++line_number_;
    return any;
  }

  bool compressed() const { return gzdirect(file_) == 0; }
  int64_t raw_offset() const { return int64_t(gzoffset(file_)); }
  int64_t line_number() const { return line_number_; }
  int64_t line_offset() const { return line_offset_; }

 private:
  bool fill() {
    const int n = gzread(file_, buf_.data(), unsigned(buf_.size()));
    int errnum = Z_OK;
    const char* msg = gzerror(file_, &errnum);
    LINEA_CHECK_T(DataError, n >= 0 && errnum == Z_OK, "cannot read input file ", path_, ": ", msg);
    pos_ = 0;
    len_ = size_t(n);
    return n > 0;
  }

  std::string path_;
  gzFile file_ = nullptr;
  std::vector<char> buf_;
  size_t pos_ = 0, len_ = 0;
  int64_t offset_ = 0, line_offset_ = 0, line_number_ = 0;
};

CorpusFormat parse_corpus_format(const std::string& name) {
  if (name == "text") return CorpusFormat::text;
  if (name == "lines") return CorpusFormat::lines;
  if (name == "jsonl") return CorpusFormat::jsonl;
  if (name == "auto") return CorpusFormat::auto_detect;
  throw ConfigError(str_cat("corpus format '", name, "', expected one of text, lines, jsonl, auto"));
}

CorpusFormat corpus_format_for(const std::string& path, CorpusFormat requested) {
  if (requested != CorpusFormat::auto_detect) return requested;
  return ends_with(path, ".jsonl") || ends_with(path, ".jsonl.gz") ? CorpusFormat::jsonl : CorpusFormat::text;
}

DocumentReader::DocumentReader(const std::string& path, const ReaderOptions& options)
    : path_(path),
      options_(options),
      format_(corpus_format_for(path, options.format)),
      source_(std::make_unique<LineSource>(path)) {}

DocumentReader::~DocumentReader() = default;

int64_t DocumentReader::bytes_read() const { return source_->raw_offset(); }

bool DocumentReader::next(std::string& doc, size_t* prompt_bytes) {
  if (prompt_bytes) *prompt_bytes = 0;
  switch (format_) {
    case CorpusFormat::jsonl: return next_jsonl(doc, prompt_bytes);
    case CorpusFormat::lines: return next_line(doc);
    default: return next_text(doc);
  }
}

bool DocumentReader::next_line(std::string& doc) {
  while (source_->read_line(doc)) {
    if (!doc.empty() && doc.back() == '\r') doc.pop_back();
    check_utf8(doc);
    if (!is_blank(doc)) return true;
  }
  doc.clear();
  return false;
}

bool DocumentReader::next_text(std::string& doc) {
  doc.clear();
  std::string line;
  while (source_->read_line(line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    check_utf8(line);
    if (is_blank(line)) {
      if (!doc.empty()) return true;
      continue;
    }
    if (!doc.empty()) doc += '\n';
    doc += line;
  }
  return !doc.empty();
}

bool DocumentReader::next_jsonl(std::string& doc, size_t* prompt_bytes) {
  std::string line;
  while (source_->read_line(line)) {
    check_utf8(line);
    if (is_blank(line)) continue;
    const std::string where = str_cat(path_, " line ", source_->line_number());
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      throw DataError(str_cat(where, ": not valid JSON (at byte ", e.byte, " of the line)"));
    }
    LINEA_CHECK_T(DataError, j.is_object(), where, ": a JSON ", j.type_name(), ", expected an object");
    auto string_field = [&](const std::string& name) -> std::string& {
      auto field = j.find(name);
      LINEA_CHECK_T(DataError, field != j.end(), where, ": no \"", name, "\" field");
      LINEA_CHECK_T(DataError, field->is_string(), where, ": field \"", name, "\" is a ", field->type_name(),
                    ", expected a string");
      return field->get_ref<std::string&>();
    };
    doc = std::move(string_field(options_.text_field));
    if (!options_.prompt_field.empty()) {
      std::string prompt = std::move(string_field(options_.prompt_field));
      if (prompt_bytes) *prompt_bytes = prompt.size();
      doc = prompt + doc;
    }
    if (!doc.empty()) return true;
  }
  return false;
}

void DocumentReader::check_utf8(std::string& line) const {
  size_t i = 0, skip = 0;
  while (i < line.size()) {
    const size_t len = utf8_sequence(line, i, skip);
    if (len == 0) break;
    i += len;
  }
  if (i == line.size()) return;
  LINEA_CHECK_T(DataError, options_.replace_invalid_utf8, path_, ": invalid UTF-8 at byte offset ",
                source_->line_offset() + int64_t(i), source_->compressed() ? " of the decompressed text" : "",
                " (line ", source_->line_number(),
                "), expected UTF-8 text or --replace-invalid-utf8");
  std::string fixed = line.substr(0, i);
  while (i < line.size()) {
    const size_t len = utf8_sequence(line, i, skip);
    if (len > 0) {
      fixed.append(line, i, len);
      i += len;
    } else {
      fixed += "\xEF\xBF\xBD";
      i += skip;
    }
  }
  line = std::move(fixed);
}

}  // namespace linea
