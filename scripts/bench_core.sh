#!/usr/bin/env bash
# Kernel throughput: GEMM GFLOP/s and memory-bound kernels' GB/s against a copy of the
# same bytes, on CPU and (where present) CUDA. Pass --quick for small sizes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[[ -x "$root/build/train/linea" ]] || "$root/scripts/setup.sh"
exec "$root/build/train/linea" bench core "$@"
