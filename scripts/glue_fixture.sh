#!/usr/bin/env bash
# Writes two small GLUE-format fine-tuning tasks of real text, taken from the King James Bible
# (Debian's bible-kjv, via its `bible` command), for testing `linea finetune` on the CPU:
#
#   OUT_DIR/testament/{train,dev}.tsv   SST-2 layout (sentence<TAB>label): one verse, label 1
#       when it is from the New Testament. All 7957 NT verses and as many OT verses picked at
#       even spacing through the OT (so every OT book is represented), exactly balanced.
#   OUT_DIR/next_verse/{train,dev}.tsv  MRPC layout (Quality, #1 ID, #2 ID, #1 String,
#       #2 String): a verse and, for label 1, the verse after it in the same chapter, or, for
#       label 0, a verse of another book. Anchors are every 4th verse that has a successor in
#       its chapter; labels alternate (an odd last anchor is dropped), so the classes are equal.
#
# Split: every 10th example of each class (testament) or every 10th pair of anchors (next_verse,
# one anchor of each label) is dev, so dev verses come from every book the training verses come
# from: the signal (vocabulary, names, style of each testament) is shared, the verses are not
# (apart from 11 verse texts the KJV repeats word for word). A split by held-out books was
# measured too: a bag-of-words naive Bayes reaches 91% dev accuracy on this split and 83% with
# held-out books (whose dev set is also unbalanced); this, the easier, is chosen so that a small
# model fine-tuned for a few minutes on a CPU lands well above chance.
# Rows are shuffled by a fixed Park-Miller generator (exact in awk's doubles), so the output
# is byte-identical on every run and machine; MosaicBERT's GLUE jobs read training data
# unshuffled (mosaicbert.md 4.1), so the file order must not be sorted by class.
# Usage: scripts/glue_fixture.sh [OUT_DIR]   (default: data/glue_kjv in the repository)
set -euo pipefail
if [[ $# -gt 1 ]]; then
  echo "usage: $0 [OUT_DIR]" >&2
  exit 2
fi
if ! command -v bible >/dev/null; then
  echo "error: glue_fixture.sh: the 'bible' command is missing, expected Debian's bible-kjv (scripts/setup.sh installs it)" >&2
  exit 2
fi
out="${1:-$(cd "$(dirname "$0")/.." && pwd)/data/glue_kjv}"
mkdir -p "$out/testament" "$out/next_verse"
tmp="$out/.glue_fixture.tmp"
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT

# `bible -f` prints "Book<chapter>:<verse> text" per verse, e.g. "Mat1:2 Abraham begat Isaac".
bible -f "Ge1:1-Re22:21" | awk -v dir="$tmp" '
  function next_random() {  # Park-Miller minimal standard generator: products stay below 2^53
    seed = (seed * 16807) % 2147483647
    return seed
  }
  # Fisher-Yates shuffle of rows[0..n-1], then writes them after the header.
  function write_shuffled(file, header, n,    i, j, tmp_row) {
    for (i = n - 1; i > 0; i--) {
      j = next_random() % (i + 1)
      tmp_row = rows[i]; rows[i] = rows[j]; rows[j] = tmp_row
    }
    print header > file
    for (i = 0; i < n; i++) print rows[i] > file
    close(file)
  }
  BEGIN { n = 0 }  # numeric from the start: an unset n would make the first verse key "", not 0
  match($0, /^[1-3]?[A-Za-z]+[0-9]+:[0-9]+ /) {
    ref[n] = substr($0, 1, RLENGTH - 1)
    text[n] = substr($0, RLENGTH + 1)
    match(ref[n], /^[1-3]?[A-Za-z]+/)
    name = substr(ref[n], 1, RLENGTH)
    chapter[n] = substr(ref[n], RLENGTH + 1)
    sub(/:.*/, "", chapter[n])
    if (name != last_book) { books++; last_book = name }
    book[n] = books
    if (books == 40 && !first_nt) first_nt = n  # Matthew opens the New Testament
    n++
  }
  END {
    if (books != 66 || n != 31102 || ref[first_nt] != "Mat1:1") {
      printf "error: glue_fixture.sh: read %d books and %d verses from `bible`, expected 66 and 31102 with the NT from Mat1:1\n", books, n > "/dev/stderr"
      exit 1
    }
    # --- testament: all NT verses, the same number of OT verses evenly spaced ---
    nt = n - first_nt; ot = first_nt
    k = 0
    for (j = 0; j < ot; j++)
      if (int((j + 1) * nt / ot) > int(j * nt / ot)) ot_pick[k++] = j
    seed = 20240601
    train = 0; dev = 0
    for (k = 0; k < nt; k++) {
      for (label = 0; label <= 1; label++) {
        v = label ? first_nt + k : ot_pick[k]
        row = text[v] "\t" label
        if (k % 10 == 0) dev_rows[dev++] = row; else train_rows[train++] = row
      }
    }
    for (i = 0; i < train; i++) rows[i] = train_rows[i]
    write_shuffled(dir "/testament_train.tsv", "sentence\tlabel", train)
    for (i = 0; i < dev; i++) rows[i] = dev_rows[i]
    write_shuffled(dir "/testament_dev.tsv", "sentence\tlabel", dev)
    printf "testament: %d train, %d dev rows (half of each label 1)\n", train, dev
    # --- next_verse: a verse and its successor (1) or a verse of another book (0) ---
    seed = 20240602
    delete train_rows; delete dev_rows
    train = 0; dev = 0; candidates = 0; anchors = 0
    for (v = 0; v + 1 < n; v++) {
      if (book[v + 1] != book[v] || chapter[v + 1] != chapter[v]) continue
      if (candidates++ % 4 != 0) continue
      label = (anchors % 2 == 0) ? 1 : 0
      if (label) {
        w = v + 1
      } else {
        do { w = next_random() % n } while (book[w] == book[v])
      }
      row = label "\t" ref[v] "\t" ref[w] "\t" text[v] "\t" text[w]
      # Anchors 2m and 2m+1 (one of each label) go to the same side.
      last_in_dev = int(anchors / 2) % 10 == 0
      if (last_in_dev) dev_rows[dev++] = row; else train_rows[train++] = row
      anchors++
    }
    # An odd last anchor (label 1) has no label-0 partner: drop it to keep the classes equal.
    if (anchors % 2 == 1) { if (last_in_dev) dev--; else train-- }
    header = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String"
    for (i = 0; i < train; i++) rows[i] = train_rows[i]
    write_shuffled(dir "/next_verse_train.tsv", header, train)
    for (i = 0; i < dev; i++) rows[i] = dev_rows[i]
    write_shuffled(dir "/next_verse_dev.tsv", header, dev)
    printf "next_verse: %d train, %d dev rows (half of each label 1)\n", train, dev
  }'
mv "$tmp/testament_train.tsv" "$out/testament/train.tsv"
mv "$tmp/testament_dev.tsv" "$out/testament/dev.tsv"
mv "$tmp/next_verse_train.tsv" "$out/next_verse/train.tsv"
mv "$tmp/next_verse_dev.tsv" "$out/next_verse/dev.tsv"
echo "glue_fixture: wrote $out/testament and $out/next_verse"
