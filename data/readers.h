// DocumentReader: the documents of one corpus file, plain text (blank-line separated, or one
// document per line) or JSONL (one object per line, a string field), optionally gzip-compressed.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

namespace linea {

// text: blank-line separated paragraphs; lines: every non-blank line; jsonl: a field per line.
enum class CorpusFormat { auto_detect, text, lines, jsonl };

struct ReaderOptions {
  CorpusFormat format = CorpusFormat::auto_detect;  // auto: by extension, see corpus_format_for
  std::string text_field = "text";                  // the JSONL field holding a document
  // JSONL: a field holding a prompt; a document is then prompt + text_field (the response),
  // and next() says where the prompt ends, so prepare can keep the loss off prompt tokens.
  std::string prompt_field;
  bool replace_invalid_utf8 = false;                // U+FFFD for ill-formed UTF-8, else DataError
};

// "text", "lines", "jsonl" or "auto"; ConfigError otherwise.
CorpusFormat parse_corpus_format(const std::string& name);

// `requested` unless it is auto_detect; then jsonl for *.jsonl and *.jsonl.gz, else text
// (lines is never guessed: a file of one sentence per line reads the same as text when it
// has blank lines, so the user says which).
CorpusFormat corpus_format_for(const std::string& path, CorpusFormat requested);

// Reads a file front to back through zlib, so gzip-compressed files (of either format) are
// decompressed and others read as they are. Text documents are runs of non-blank lines
// joined with '\n' (a trailing '\r' dropped from each line); lines documents are single
// non-blank lines (a trailing '\r' dropped, as in spm_encode's input); JSONL documents are the
// `text_field` string of each non-blank line. Empty documents are never yielded.
// DataError names the file and line for bad JSONL lines (not JSON, not an object, field
// missing or not a string) and the byte offset (of the decompressed text) for invalid UTF-8.
class DocumentReader {
 public:
  DocumentReader(const std::string& path, const ReaderOptions& options = {});
  ~DocumentReader();
  DocumentReader(const DocumentReader&) = delete;
  DocumentReader& operator=(const DocumentReader&) = delete;

  // The next document into `doc`; false once the file is exhausted. With a prompt field,
  // *prompt_bytes (when given) receives the prompt's length, the start of the response.
  bool next(std::string& doc, size_t* prompt_bytes = nullptr);
  CorpusFormat format() const { return format_; }
  // Bytes consumed from the file so far (compressed bytes for a .gz file), read-ahead included.
  int64_t bytes_read() const;

 private:
  class LineSource;
  bool next_text(std::string& doc);
  bool next_line(std::string& doc);
  bool next_jsonl(std::string& doc, size_t* prompt_bytes);
  // Checks the UTF-8 of the line just read, or replaces what is ill-formed.
  void check_utf8(std::string& line) const;

  std::string path_;
  ReaderOptions options_;
  CorpusFormat format_;
  std::unique_ptr<LineSource> source_;
};

}  // namespace linea
