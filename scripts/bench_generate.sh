#!/usr/bin/env bash
# Generation speed of a decoder checkpoint (default: the quickstart's, runs/quickstart) at
# contexts of 128, 1k and 4k tokens, linea's cached decoding next to a PyTorch incremental
# decoding loop on the same weights, prompts (real validation text) and threads, greedy, batch
# 1. Prints both runs' lines, then decode tokens/s per context and linea's ratio over PyTorch.
# Contexts past the model's max_seq_len run RoPE on positions never trained: the speed is
# what is measured here, not the text.
# Usage: scripts/bench_generate.sh [CHECKPOINT] [NEW_TOKENS] [CONTEXTS] [SHARDS]
# (SHARDS: where the prompts come from, default the checkpoint recipe's data.valid)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
checkpoint="${1:-runs/quickstart}"
new_tokens="${2:-64}"
contexts="${3:-128,1024,4096}"
data_args=()
[[ -n "${4:-}" ]] && data_args=(--data "$4")
threads="${LINEA_BENCH_THREADS:-$(nproc)}"
[[ -x build/train/linea ]] || scripts/setup.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
OMP_NUM_THREADS="$threads" build/train/linea bench generate "$checkpoint" --contexts "$contexts" \
  --new-tokens "$new_tokens" "${data_args[@]}" --save "$tmp/tokens.h5" | tee "$tmp/lines"
ckpt_file="$checkpoint"
[[ -d "$checkpoint" ]] && ckpt_file="$checkpoint/$(cat "$checkpoint/latest")"
if /usr/bin/python3 -c "import torch, yaml, h5py" 2>/dev/null; then
  (cd scripts/torch_reference &&
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 generate.py "$root/$ckpt_file" "$tmp/tokens.h5" "$threads") |
    tee -a "$tmp/lines"
else
  echo "pytorch: /usr/bin/python3 with torch, yaml and h5py not installed; skipped"
fi
echo
awk '
  ($1 == "linea" || $1 == "pytorch") && $2 == "context" {
    L = $3; sub(":", "", L)
    for (i = 1; i <= NF; ++i) if ($i == "tokens/s;" || $i == "tokens/s," || ($i == "tokens/s" && i == NF)) tps = $(i - 1)
    if ($1 == "linea") linea[L] = tps; else torch[L] = tps
    if (!(L in seen)) { seen[L] = 1; order[++n] = L }
  }
  END {
    printf "%-9s %14s %14s %8s\n", "context", "linea tok/s", "pytorch tok/s", "ratio"
    for (i = 1; i <= n; ++i) {
      L = order[i]
      r = (L in torch) && torch[L] > 0 ? sprintf("%.2fx", linea[L] / torch[L]) : "-"
      printf "%-9s %14s %14s %8s\n", L, linea[L], (L in torch) ? torch[L] : "-", r
    }
  }' "$tmp/lines"
