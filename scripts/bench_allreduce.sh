#!/usr/bin/env bash
# Communication benchmarks on this machine: all-reduce bandwidth of linea's MPI
# communicator against a plain MPI_Allreduce of the same bytes (1 KiB .. 64 MiB, 2 ranks),
# then data-parallel training of a small decoder on 1 and 2 ranks (one thread each):
# tokens/s and the share of gradient communication hidden behind backward.
#   scripts/bench_allreduce.sh [RANKS] [TRAIN_STEPS] [BUCKET_MB]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ranks="${1:-2}"
steps="${2:-10}"
bucket_mb="${3:-25}"
bin="$root/build/tests/linea_bench_allreduce"
if [[ ! -x "$bin" ]]; then
  [[ -d "$root/build" ]] || "$root/scripts/setup.sh"
  cmake --build "$root/build" --target linea_bench_allreduce --parallel "$(nproc)"
fi
launch="$root/tests/dist/mpirun_ranks.sh"

echo "== all-reduce, $ranks ranks"
OMP_NUM_THREADS=1 bash "$launch" "$ranks" "$bin" allreduce
for n in 1 "$ranks"; do
  echo
  echo "== data-parallel training, $n rank(s), $bucket_mb MB buckets"
  OMP_NUM_THREADS=1 bash "$launch" "$n" "$bin" train "$steps" "$bucket_mb"
done
echo
echo "== data-parallel training, $ranks ranks, 1 MB buckets (more, earlier collectives)"
OMP_NUM_THREADS=1 bash "$launch" "$ranks" "$bin" train "$steps" 1
