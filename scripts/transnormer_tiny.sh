#!/usr/bin/env bash
# The CPU experiment of the TransNormer spec (§7.2): TNL tiny (recipes/transnormer/tiny.yaml)
# and its softmax twin (tiny_softmax.yaml) on the quickstart's KJV data, same tokens; then
# each one's validation perplexity, perplexity against context length, and the plots
# (runs/transnormer_tiny.png: loss curves; runs/transnormer_tiny_context.png). About 40
# minutes per model on two cores. Re-running resumes; extra arguments go to `linea train`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
linea=build/train/linea
if [[ ! -f data/kjv/valid/shard_00000.h5 ]]; then
  echo "transnormer_tiny.sh: data/kjv is missing; run scripts/quickstart.sh first (it prepares the KJV shards)" >&2
  exit 1
fi
for r in tiny tiny_softmax; do
  "$linea" train "recipes/transnormer/$r.yaml" --run-dir "runs/tnl_$r" --resume auto "$@"
done
for r in tiny tiny_softmax; do
  "$linea" eval "runs/tnl_$r" --data data/kjv/valid
  "$linea" eval "runs/tnl_$r" --data data/kjv/valid --context-lengths 256,512,1024,2048 --output "runs/tnl_$r.ctx.jsonl"
done
"$linea" plot runs/tnl_tiny runs/tnl_tiny_softmax --smooth 0.9 --output runs/transnormer_tiny.png
"$linea" plot runs/tnl_tiny.ctx.jsonl runs/tnl_tiny_softmax.ctx.jsonl --output runs/transnormer_tiny_context.png
