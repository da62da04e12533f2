#!/usr/bin/env bash
# Runs a program as N MPI ranks on this machine, as the dist tests and benchmarks need:
# one OpenMP thread per rank (OMP_NUM_THREADS overrides), oversubscribed when N exceeds
# the cores, unbound, and allowed as root (containers).
#   tests/dist/mpirun_ranks.sh N PROGRAM [ARGS...]
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 N PROGRAM [ARGS...]" >&2
  exit 2
fi
n="$1"
shift
args=(-np "$n" --oversubscribe --bind-to none -x "OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}")
if [[ "$(id -u)" == 0 ]]; then args+=(--allow-run-as-root); fi
exec mpirun "${args[@]}" "$@"
