// Real text for the data tests: verses printed by Debian's `bible` (bible-kjv), written
// like scripts/kjv_corpus.sh does (one verse per line, a blank line between chapters), and
// a SentencePiece model (BPE, vocab 500) trained on Genesis once per test process.
#pragma once
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "data/tokenizer.h"
#include "support/temp_dir.h"

namespace linea::testing {

// The verses of `range` (e.g. "Ruth1:1-Ruth4:22") as kjv_corpus.sh writes them.
inline std::string bible_text(const std::string& range) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(("bible -f '" + range + "' 2>/dev/null").c_str(), "r"), pclose);
  std::string raw;
  char buf[4096];
  size_t n;
  while (pipe && (n = fread(buf, 1, sizeof(buf), pipe.get())) > 0) raw.append(buf, n);
  std::string out, chapter, line;
  std::istringstream lines(raw);
  while (std::getline(lines, line)) {  // "Ruth1:2 And the name of the man was Elimelech, ..."
    size_t space = line.find(' '), colon = line.find(':');
    if (space == std::string::npos || colon == std::string::npos || colon > space) continue;
    std::string this_chapter = line.substr(0, colon);
    if (!chapter.empty() && this_chapter != chapter) out += "\n";
    chapter = this_chapter;
    out += line.substr(space + 1) + "\n";
  }
  if (out.empty())
    ADD_FAILURE() << "`bible -f " << range << "` printed no verses; install bible-kjv (scripts/setup.sh)";
  return out;
}

// The blank-line separated paragraphs of `text` (chapters of bible_text): the documents that
// prepare's text reader (and so prepare_shards) makes of it.
inline std::vector<std::string> paragraphs(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream lines(text);
  std::string line, current;
  while (std::getline(lines, line)) {
    if (line.empty()) {
      if (!current.empty()) out.push_back(current);
      current.clear();
    } else {
      current += (current.empty() ? "" : "\n") + line;
    }
  }
  if (!current.empty()) out.push_back(current);
  return out;
}

inline void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// Genesis as a text file and the model trained on it, shared by every test of the process.
struct KjvCorpus {
  TempDir dir;
  std::string genesis_path, model_path;

  static const KjvCorpus& get() {
    static KjvCorpus corpus;
    return corpus;
  }

 private:
  KjvCorpus() {
    genesis_path = dir.file("genesis.txt");
    write_file(genesis_path, bible_text("Ge1:1-Ge50:26"));
    model_path = train_sentencepiece({genesis_path}, dir.file("kjv500"), 500);
  }
};

}  // namespace linea::testing
