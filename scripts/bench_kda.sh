#!/usr/bin/env bash
# Kimi Delta Attention alone (q, k, v, g, β given; forward + backward), side by side by
# sequence length: linea's chunkwise kernel, its token-by-token recurrence (forward only) and
# fused causal softmax on q, k, v of the same shapes, then a PyTorch implementation of the
# chunkwise algorithm (specs/kimi_linear.md §2.2, autograd backward), same threads.
#   scripts/bench_kda.sh [--lengths 512,1024,...] [--heads 8] [--head-dim 64] [--batch 1]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[[ -x "$root/build/train/linea" ]] || "$root/scripts/setup.sh"
lengths=512,1024,2048,4096,8192,16384 heads=8 head_dim=64 batch=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --lengths) lengths="$2"; shift 2 ;;
    --heads) heads="$2"; shift 2 ;;
    --head-dim) head_dim="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    *) echo "bench_kda.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
threads="${OMP_NUM_THREADS:-$(nproc)}"
OMP_NUM_THREADS="$threads" "$root/build/train/linea" bench kda --lengths "$lengths" --heads "$heads" \
  --head-dim "$head_dim" --batch "$batch"
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  /usr/bin/python3 "$root/scripts/torch_reference/bench_kda.py" --lengths "$lengths" --heads "$heads" \
    --head-dim "$head_dim" --batch "$batch" --threads "$threads"
else
  echo "bench_kda.sh: /usr/bin/python3 has no torch (apt-get install python3-torch); PyTorch rows skipped" >&2
fi
