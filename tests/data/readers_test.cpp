// DocumentReader on real text: paragraphs or lines of plain text, JSONL objects, .gz of them,
// bad JSONL lines by line number, invalid UTF-8 by byte offset and its replacement.
#include "data/readers.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "support/kjv_text.h"
#include "support/testing.h"

using namespace linea;
using linea::testing::expect_error;
using linea::testing::TempDir;
using linea::testing::write_file;

namespace {

std::vector<std::string> read_all(const std::string& path, const ReaderOptions& options = {}) {
  DocumentReader reader(path, options);
  std::vector<std::string> docs;
  std::string doc;
  while (reader.next(doc)) docs.push_back(doc);
  return docs;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

void write_gz(const std::string& path, const std::string& text) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, text.data(), unsigned(text.size())), int(text.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
}

// One JSON object per verse of `text`, the verse under `field`, plus an id.
std::string verses_as_jsonl(const std::string& text, const std::string& field) {
  std::string out;
  int id = 0;
  for (const std::string& line : split_lines(text))
    if (!line.empty()) out += nlohmann::json{{"id", id++}, {field, line}}.dump() + "\n";
  return out;
}

}  // namespace

TEST(Readers, PlainTextDocumentsAreParagraphs) {
  TempDir dir;
  const std::string ruth = linea::testing::bible_text("Ruth1:1-Ruth4:22");
  const std::string path = dir.file("ruth.txt");
  // Blank runs, whitespace-only lines and CRLF endings separate nothing extra.
  std::string crlf;
  for (const std::string& line : split_lines(ruth)) crlf += (line.empty() ? " \t" : line) + "\r\n";
  write_file(path, "\n\n" + crlf + "\n\n");
  std::vector<std::string> docs = read_all(path);
  ASSERT_EQ(docs.size(), 4u);  // four chapters
  std::vector<std::string> chapter1 = split_lines(docs[0]);
  EXPECT_EQ(chapter1.size(), 22u);
  EXPECT_EQ(chapter1.front().rfind("Now it came to pass in the days when the judges ruled", 0), 0u) << chapter1.front();
  EXPECT_EQ(docs[0].find('\r'), std::string::npos);
  std::string joined;
  for (const std::string& d : docs) joined += d + "\n\n";
  EXPECT_EQ(joined.substr(0, joined.size() - 1), ruth);
  EXPECT_EQ(DocumentReader(path).format(), CorpusFormat::text);

  write_file(dir.file("empty.txt"), "");
  EXPECT_TRUE(read_all(dir.file("empty.txt")).empty());
  expect_error<DataError>([&] { DocumentReader r(dir.file("missing.txt")); }, "cannot read input file: " + dir.file("missing.txt"));
}

TEST(Readers, JsonlDocumentsAreTheTextFieldOfEachLine) {
  TempDir dir;
  const std::string jonah = linea::testing::bible_text("Jonah1:1-Jonah1:17");
  std::vector<std::string> verses;
  for (const std::string& line : split_lines(jonah))
    if (!line.empty()) verses.push_back(line);
  ASSERT_EQ(verses.size(), 17u);
  const std::string path = dir.file("jonah.jsonl");
  // Blank lines are skipped, and so are empty documents.
  write_file(path, verses_as_jsonl(jonah, "body") + "\n  \n{\"body\": \"\"}\n");
  ReaderOptions options;
  options.text_field = "body";
  EXPECT_EQ(read_all(path, options), verses);
  EXPECT_EQ(DocumentReader(path).format(), CorpusFormat::jsonl);

  // Escapes decode; a .txt read as JSONL by explicit format.
  const std::string forced = dir.file("escaped.txt");
  write_file(forced, "{\"text\": \"line one\\nline \\u00e9\\t\\\"two\\\"\"}\n");
  options = {};
  options.format = CorpusFormat::jsonl;
  EXPECT_EQ(read_all(forced, options), std::vector<std::string>{"line one\nline \xC3\xA9\t\"two\""});
  // And a .jsonl read as text by explicit format gives its lines as one paragraph.
  options.format = CorpusFormat::text;
  EXPECT_EQ(read_all(path, options).size(), 2u);
}

TEST(Readers, GzipInputsOfEitherFormatReadLikeTheirPlainFiles) {
  TempDir dir;
  const std::string text = linea::testing::bible_text("Jonah1:1-Jonah4:11");
  write_file(dir.file("jonah.txt"), text);
  write_gz(dir.file("jonah.txt.gz"), text);
  write_file(dir.file("jonah.jsonl"), verses_as_jsonl(text, "text"));
  write_gz(dir.file("jonah.jsonl.gz"), verses_as_jsonl(text, "text"));
  std::vector<std::string> paragraphs = read_all(dir.file("jonah.txt"));
  ASSERT_EQ(paragraphs.size(), 4u);
  EXPECT_EQ(read_all(dir.file("jonah.txt.gz")), paragraphs);
  EXPECT_EQ(DocumentReader(dir.file("jonah.jsonl.gz")).format(), CorpusFormat::jsonl);
  std::vector<std::string> verses = read_all(dir.file("jonah.jsonl"));
  EXPECT_EQ(verses.size(), 48u);  // 17 + 10 + 10 + 11 verses
  EXPECT_EQ(read_all(dir.file("jonah.jsonl.gz")), verses);

  // A truncated gzip stream is an error, not a silently shorter corpus.
  std::ifstream in(dir.file("jonah.txt.gz"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  write_file(dir.file("cut.txt.gz"), bytes.substr(0, bytes.size() / 2));
  expect_error<DataError>([&] { read_all(dir.file("cut.txt.gz")); }, "cannot read input file " + dir.file("cut.txt.gz"));
}

TEST(Readers, BadJsonlLinesNameTheFileAndLine) {
  TempDir dir;
  const std::string path = dir.file("bad.jsonl");
  auto expect_bad = [&](const std::string& body, const std::string& fragment, size_t good_before) {
    write_file(path, body);
    DocumentReader reader(path);
    std::string doc;
    for (size_t i = 0; i < good_before; ++i) ASSERT_TRUE(reader.next(doc));
    expect_error<DataError>([&] { reader.next(doc); }, path + fragment);
  };
  expect_bad("{\"text\": \"In the beginning\"}\n\n{\"text\": \"God created\"\n", " line 3: not valid JSON", 1);
  expect_bad("{\"text\": \"a\"}\n{\"txt\": \"the heaven\"}\n", " line 2: no \"text\" field", 1);
  expect_bad("{\"text\": 7}\n", " line 1: field \"text\" is a number, expected a string", 0);
  expect_bad("{\"text\": \"a\"}\n{\"text\": \"b\"}\n[\"and the earth\"]\n", " line 3: a JSON array, expected an object", 2);
  expect_bad("{\"text\": null}", " line 1: field \"text\" is a null, expected a string", 0);
}

TEST(Readers, InvalidUtf8IsAnErrorAtItsByteOffsetOrReplaced) {
  TempDir dir;
  const std::string verse = "And God said, Let there be light: and there was light.\n";
  const std::string path = dir.file("bad.txt");
  write_file(path, verse + "\n" + "caf\xC3\xA9 \xF0\x9F\x98\x80 ok\n" + "bad \xFF byte\n");
  const size_t offset = verse.size() + 1 + 14 + 4;  // "café 😀 ok\n" is 14 bytes
  expect_error<DataError>([&] { read_all(path); },
                          path + ": invalid UTF-8 at byte offset " + std::to_string(offset) + " (line 4)");
  ReaderOptions replace;
  replace.replace_invalid_utf8 = true;
  EXPECT_EQ(read_all(path, replace),
            (std::vector<std::string>{verse.substr(0, verse.size() - 1), "caf\xC3\xA9 \xF0\x9F\x98\x80 ok\nbad \xEF\xBF\xBD byte"}));

  // Each maximal ill-formed subpart becomes one U+FFFD: a cut 3-byte sequence, overlongs,
  // a surrogate, a code point beyond U+10FFFF, a lone continuation byte.
  const std::string fffd = "\xEF\xBF\xBD";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a\xE2\x82z", "a" + fffd + "z"},
      {"\xC0\xAF", fffd + fffd},
      {"\xE0\x80\xAF", fffd + fffd + fffd},
      {"\xED\xA0\x80", fffd + fffd + fffd},
      {"\xF4\x90\x80\x80", fffd + fffd + fffd + fffd},
      {"x\x80y\xE2\x82\xAC", "x" + fffd + "y\xE2\x82\xAC"},
      {"end\xF0\x9F\x98", "end" + fffd},
  };
  for (const auto& [raw, fixed] : cases) {
    write_file(path, raw + "\n");
    EXPECT_EQ(read_all(path, replace), std::vector<std::string>{fixed}) << nlohmann::json(fixed).dump();
    expect_error<DataError>([&] { read_all(path); }, "invalid UTF-8 at byte offset " + std::to_string(raw.find_first_of("\x80\xC0\xE0\xED\xF4\xE2\xF0")));
  }

  // In JSONL, and in a .gz where the offset is into the decompressed text.
  const std::string jsonl = dir.file("bad.jsonl.gz");
  write_gz(jsonl, "{\"text\": \"ok\"}\n{\"text\": \"na\xEFve\"}\n");
  expect_error<DataError>([&] { read_all(jsonl); },
                          jsonl + ": invalid UTF-8 at byte offset 27 of the decompressed text (line 2)");
  EXPECT_EQ(read_all(jsonl, replace), (std::vector<std::string>{"ok", "na" + fffd + "ve"}));
}

TEST(Readers, FormatNamesAndExtensions) {
  EXPECT_EQ(parse_corpus_format("text"), CorpusFormat::text);
  EXPECT_EQ(parse_corpus_format("jsonl"), CorpusFormat::jsonl);
  EXPECT_EQ(parse_corpus_format("auto"), CorpusFormat::auto_detect);
  EXPECT_EQ(parse_corpus_format("lines"), CorpusFormat::lines);
  expect_error<ConfigError>([] { parse_corpus_format("csv"); },
                            "corpus format 'csv', expected one of text, lines, jsonl, auto");
  EXPECT_EQ(corpus_format_for("a/b.jsonl", CorpusFormat::auto_detect), CorpusFormat::jsonl);
  EXPECT_EQ(corpus_format_for("b.jsonl.gz", CorpusFormat::auto_detect), CorpusFormat::jsonl);
  EXPECT_EQ(corpus_format_for("b.txt.gz", CorpusFormat::auto_detect), CorpusFormat::text);
  EXPECT_EQ(corpus_format_for("b.json", CorpusFormat::auto_detect), CorpusFormat::text);
  EXPECT_EQ(corpus_format_for("README", CorpusFormat::auto_detect), CorpusFormat::text);
  EXPECT_EQ(corpus_format_for("b.txt", CorpusFormat::jsonl), CorpusFormat::jsonl);
  EXPECT_EQ(corpus_format_for("b.jsonl", CorpusFormat::text), CorpusFormat::text);
}

TEST(Readers, LinesFormatGivesEveryNonBlankLine) {
  TempDir dir;
  const std::string ruth = linea::testing::bible_text("Ruth1:1-Ruth4:22");
  std::vector<std::string> verses;
  for (const std::string& line : split_lines(ruth))
    if (!line.empty()) verses.push_back(line);
  ASSERT_EQ(verses.size(), 85u);
  // CRLF endings, blank and whitespace-only lines, no final newline; leading spaces stay.
  std::string text = "\r\n  \t \r\n";
  for (size_t i = 0; i < verses.size(); ++i) text += verses[i] + (i % 7 == 0 ? "\r\n\n" : "\r\n");
  text += "  indented last line";
  verses.push_back("  indented last line");
  write_file(dir.file("ruth.txt"), text);
  write_gz(dir.file("ruth.txt.gz"), text);
  ReaderOptions lines;
  lines.format = CorpusFormat::lines;
  EXPECT_EQ(read_all(dir.file("ruth.txt"), lines), verses);
  EXPECT_EQ(read_all(dir.file("ruth.txt.gz"), lines), verses);
  // The same file as text: paragraphs at the blank lines.
  EXPECT_EQ(read_all(dir.file("ruth.txt")).size(), 14u);
  // Invalid UTF-8 names the line, as in text mode.
  write_file(dir.file("bad.txt"), "good\nbad \xC3\x28 byte\n");
  expect_error<DataError>([&] { read_all(dir.file("bad.txt"), lines); },
                          dir.file("bad.txt") + ": invalid UTF-8 at byte offset 9 (line 2)");
}
