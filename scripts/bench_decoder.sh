#!/usr/bin/env bash
# Training throughput of linea's decoder next to the PyTorch reference of the same model on
# the same threads: the quickstart "tiny" model and a 12-layer 768-wide one. Prints
# tokens/s, ms/step, MFU (linea, against the measured GEMM peak) and peak memory.
# Usage: scripts/bench_decoder.sh [STEPS]   (default 5 timed steps after one warm-up)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
steps="${1:-5}"
[[ -x build/train/linea ]] || scripts/setup.sh
for recipe in recipes/bench/decoder_tiny.yaml recipes/bench/decoder_768.yaml; do
  threads=2
  build/train/linea bench decoder "$recipe" --steps "$steps"
  if /usr/bin/python3 -c "import torch, yaml" 2>/dev/null; then
    # The reference reads the recipe itself; resolve `base:` through linea's dump.
    resolved=$(mktemp --suffix=.yaml)
    build/train/linea config "$recipe" > "$resolved"
    # Debian's torch calls the system BLAS: OpenBLAS (setup.sh installs it) with its own
    # kernel choice; OPENBLAS_CORETYPE/L2_SIZE, set on some machines here, would force older ones.
    (cd scripts/torch_reference &&
      env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench_decoder.py "$resolved" "$threads" "$steps")
    rm -f "$resolved"
  else
    echo "pytorch: /usr/bin/python3 with torch not installed; skipped"
  fi
done
