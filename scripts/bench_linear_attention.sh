#!/usr/bin/env bash
# Lightning vs softmax attention alone (q, k, v given; forward + backward), side by side by
# sequence length: linea's blockwise Lightning Attention-2 kernel and fused causal softmax,
# then a PyTorch implementation of the same blockwise algorithm (autograd backward) and
# torch's fused causal softmax, on the same shapes and thread count.
# With --mixer kda (what scripts/bench_kda.sh passes): Kimi Delta Attention instead, linea's
# chunkwise kernel, its recurrence (forward only) and softmax, then a PyTorch chunkwise KDA.
#   scripts/bench_linear_attention.sh [--mixer lightning|kda] [--lengths 512,1024,...] [--heads 8] [--head-dim 64] [--batch 1]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[[ -x "$root/build/train/linea" ]] || "$root/scripts/setup.sh"
lengths=512,1024,2048,4096,8192,16384 heads=8 head_dim=64 batch=1 mixer=lightning
while [[ $# -gt 0 ]]; do
  case "$1" in
    --mixer) mixer="$2"; shift 2 ;;
    --lengths) lengths="$2"; shift 2 ;;
    --heads) heads="$2"; shift 2 ;;
    --head-dim) head_dim="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    *) echo "bench_linear_attention.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
case "$mixer" in
  lightning) suite=attention reference=bench_lightning.py ;;
  kda) suite=kda reference=bench_kda.py ;;
  *) echo "bench_linear_attention.sh: --mixer $mixer: expected lightning or kda" >&2; exit 2 ;;
esac
threads="${OMP_NUM_THREADS:-$(nproc)}"
OMP_NUM_THREADS="$threads" "$root/build/train/linea" bench "$suite" --lengths "$lengths" --heads "$heads" \
  --head-dim "$head_dim" --batch "$batch"
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  /usr/bin/python3 "$root/scripts/torch_reference/$reference" --lengths "$lengths" --heads "$heads" \
    --head-dim "$head_dim" --batch "$batch" --threads "$threads"
else
  echo "bench_linear_attention.sh: /usr/bin/python3 has no torch (apt-get install python3-torch); PyTorch rows skipped" >&2
fi
