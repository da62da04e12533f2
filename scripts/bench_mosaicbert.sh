#!/usr/bin/env bash
# MLM training throughput of linea's MosaicBERT encoder, unpadded vs padded path, next to
# the PyTorch reference of the same model on the same threads and the same batch (lengths
# uniform on [2, 126] at T = 128, i.e. ~50% padding; 30% masking): the tiny encoder
# (4 x 256) and the base width (768 hidden, 12 heads, 2 layers; recipes/bench/encoder_*.yaml).
# Prints each run's line, then a table of real tokens/s, ms/step, MFU (useful FLOPs over
# linea's measured GEMM peak) and speedups.
# Usage: scripts/bench_mosaicbert.sh [STEPS]   (default 3 timed steps after one warm-up)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
steps="${1:-3}"
[[ -x build/train/linea ]] || scripts/setup.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
have_torch=0
/usr/bin/python3 -c "import torch, yaml, h5py" 2>/dev/null && have_torch=1
for recipe in recipes/bench/encoder_tiny.yaml recipes/bench/encoder_768.yaml; do
  name=$(basename "$recipe" .yaml)
  threads=2
  build/train/linea bench encoder "$recipe" --steps "$steps" --save-batch "$tmp/$name.h5" | tee -a "$tmp/lines"
  if (( have_torch )); then
    # The reference reads the recipe itself; resolve `base:` through linea's dump.
    build/train/linea config "$recipe" > "$tmp/$name.yaml"
    # Debian's torch calls the system BLAS: OpenBLAS (setup.sh installs it) with its own
    # kernel choice; OPENBLAS_CORETYPE/L2_SIZE, set on some machines here, would force older ones.
    (cd scripts/torch_reference &&
      env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench_mosaicbert.py \
        "$tmp/$name.yaml" "$tmp/$name.h5" "$threads" "$steps" "$name") | tee -a "$tmp/lines"
  else
    echo "pytorch: /usr/bin/python3 with torch, yaml and h5py not installed; skipped"
  fi
done

echo
# One row per run; the last column is linea unpadded tokens/s over the row's.
awk '
  $1 == "linea" || $1 == "pytorch" {
    if ($4 !~ /^params/) next
    model = $2; path = ($1 == "linea" ? "linea " : "torch ") $3
    for (i = 1; i <= NF; ++i) {
      if ($i == "tokens/s") tps = $(i - 1)
      if ($i == "ms/step") ms = $(i - 1)
      if ($i == "MFU") mfu = $(i + 1)
    }
    n = ++rows[model]; key[model, n] = path; val[model, n] = tps; msv[model, n] = ms; mf[model, n] = mfu
    if (path == "linea unpadded") best[model] = tps
    if (!(model in seen)) { seen[model] = 1; order[++models] = model }
  }
  END {
    printf "%-14s %-15s %12s %10s %7s %18s\n", "model", "run", "tokens/s", "ms/step", "MFU", "linea unpadded is"
    for (m = 1; m <= models; ++m) {
      model = order[m]
      for (n = 1; n <= rows[model]; ++n)
        printf "%-14s %-15s %12d %10.1f %7s %17.2fx\n", model, key[model, n], val[model, n], msv[model, n],
               mf[model, n], best[model] / val[model, n]
    }
  }' "$tmp/lines"
