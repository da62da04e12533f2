#!/usr/bin/env bash
# Writes the King James Bible (Debian's bible-kjv, via its `bible` command) as a small
# training corpus: OUT_DIR/train.txt and OUT_DIR/valid.txt, one verse per line (text only,
# no reference) and a blank line between chapters, so each chapter is one document for
# `linea prepare`. Every 10th book (2 Samuel, Proverbs, Amos, Matthew, Philippians,
# 1 Peter: ~10% of the verses) is held out whole for validation; the rest is training text.
# Usage: scripts/kjv_corpus.sh OUT_DIR
set -euo pipefail
if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi
if ! command -v bible >/dev/null; then
  echo "error: kjv_corpus.sh: the 'bible' command is missing, expected Debian's bible-kjv (scripts/setup.sh installs it)" >&2
  exit 2
fi
out="$1"
mkdir -p "$out"
# `bible -f` prints "Book<chapter>:<verse> text" per verse, e.g. "1Cor13:4 Charity suffereth long".
bible -f "Ge1:1-Re22:21" | awk -v train="$out/train.txt.tmp" -v valid="$out/valid.txt.tmp" '
  match($0, /^[1-3]?[A-Za-z]+[0-9]+:[0-9]+ /) {
    ref = substr($0, 1, RLENGTH - 1)
    text = substr($0, RLENGTH + 1)
    match(ref, /^[1-3]?[A-Za-z]+/)
    book = substr(ref, 1, RLENGTH)
    chapter = substr(ref, RLENGTH + 1)
    sub(/:.*/, "", chapter)
    if (book != last_book) { books++; last_book = book; last_chapter = "" }
    file = (books % 10 == 0) ? valid : train
    if (chapter != last_chapter) {
      if (seen[file]) print "" > file
      seen[file] = 1
      last_chapter = chapter
    }
    print text > file
    verses++
  }
  END {
    if (books != 66 || verses != 31102) {
      printf "error: kjv_corpus.sh: read %d books and %d verses from `bible`, expected 66 and 31102\n", books, verses > "/dev/stderr"
      exit 1
    }
  }'
mv "$out/train.txt.tmp" "$out/train.txt"
mv "$out/valid.txt.tmp" "$out/valid.txt"
echo "kjv_corpus: $(wc -l < "$out/train.txt") train lines, $(wc -l < "$out/valid.txt") valid lines in $out"
