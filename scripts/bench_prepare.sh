#!/usr/bin/env bash
# Throughput of `linea prepare` against Debian's spm_encode (package sentencepiece) on the
# same SentencePiece model: builds a ~50 MB corpus by repeating the KJV training text
# (scripts/kjv_corpus.sh), trains an 8000-piece BPE model on one copy (reused when present),
# then times prepare with --threads 1 and 2 and `spm_encode --output_format=id`, printing
# MB/s of input text for each. Files live in /tmp/linea_bench_prepare (or $BENCH_DIR).
# spm_encode encodes every line, prepare every blank-line separated paragraph (and every line
# with --format lines, the same documents as spm_encode). linea's SentencePiece encoding cuts
# text before runs of spaces where that provably gives the same ids, and caches the ids of
# each segment (data/spm_split.h); the repeated corpus is the best case for that cache, so the
# last rows time one copy of the text (3.8 MB), where every word is met for the first time.
# Usage: scripts/bench_prepare.sh [path/to/linea]   (default build/train/linea)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
linea="${1:-$root/build/train/linea}"
work="${BENCH_DIR:-/tmp/linea_bench_prepare}"
target_mb=50
if [[ ! -x "$linea" ]]; then
  echo "error: bench_prepare.sh: $linea is not an executable, expected a built linea (scripts/setup.sh)" >&2
  exit 2
fi
if ! command -v spm_encode >/dev/null; then
  echo "error: bench_prepare.sh: spm_encode is missing, expected Debian's sentencepiece (scripts/setup.sh installs it)" >&2
  exit 2
fi
mkdir -p "$work"
[[ -f "$work/kjv/train.txt" ]] || "$root/scripts/kjv_corpus.sh" "$work/kjv" >/dev/null
corpus="$work/corpus.txt"
if [[ ! -f "$corpus" ]]; then
  : >"$corpus.tmp"
  while (($(stat -c %s "$corpus.tmp") < target_mb * 1000000)); do
    cat "$work/kjv/train.txt" >>"$corpus.tmp"
    printf '\n' >>"$corpus.tmp"
  done
  mv "$corpus.tmp" "$corpus"
fi
model="$work/kjv8000.model"
if [[ ! -f "$model" ]]; then
  echo "bench_prepare: training $model on $work/kjv/train.txt"
  "$linea" prepare --tokenizer "$model" --train-vocab 8000 --input "$work/kjv/train.txt" --output "$work/train_shards" \
    --force >/dev/null
fi
bytes=$(stat -c %s "$corpus")
echo "bench_prepare: corpus $corpus ($(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB), model $model, $(nproc) cores"

# Runs the command (stdout discarded), then prints its name, seconds and MB/s of the corpus.
time_it() {
  local name="$1"
  shift
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null
  end=$(date +%s.%N)
  awk -v n="$name" -v s="$start" -v e="$end" -v b="$bytes" \
    'BEGIN { printf "%-28s %7.2f s %8.2f MB/s\n", n, e - s, b / 1e6 / (e - s) }'
}
for threads in 1 2; do
  time_it "linea prepare --threads $threads" \
    "$linea" prepare --tokenizer "$model" --input "$corpus" --output "$work/shards" --force --threads "$threads"
done
time_it "linea ... --format lines" \
  "$linea" prepare --tokenizer "$model" --input "$corpus" --output "$work/shards" --force --threads 1 --format lines
time_it "spm_encode" sh -c 'spm_encode --model "$1" --output_format=id <"$2"' sh "$model" "$corpus"
one="$work/kjv/train.txt"
bytes=$(stat -c %s "$one")
echo "bench_prepare: one copy $one ($(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB)"
time_it "linea prepare --threads 1" \
  "$linea" prepare --tokenizer "$model" --input "$one" --output "$work/shards" --force --threads 1
time_it "spm_encode" sh -c 'spm_encode --model "$1" --output_format=id <"$2"' sh "$model" "$one"
