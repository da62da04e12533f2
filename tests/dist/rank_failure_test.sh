#!/usr/bin/env bash
# A rank that fails ends the whole 2-rank job, non-zero and well within the collective
# timeout, with the failing rank's message on stderr: once by throwing (the rank aborts
# the job itself), once by hanging (its peer's collective times out and aborts).
#   tests/dist/rank_failure_test.sh path/to/linea_rank_failure
set -uo pipefail
bin="$1"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
failures=0

# run MODE EXPECTED_STDERR_FRAGMENT
run() {
  local mode="$1" fragment="$2" start end rc
  start=$(date +%s)
  # The outer timeout only guards this test against a hang; the job must end by itself.
  timeout 90 bash "$here/mpirun_ranks.sh" 2 "$bin" "$mode" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  end=$(date +%s)
  if [[ $rc -ne 3 ]]; then
    echo "FAIL $mode: exit code $rc, expected 3 (the code the failing rank aborted with; 124 means a hang)"
    failures=$((failures + 1))
  fi
  if ! grep -qF -- "$fragment" "$tmp/err"; then
    echo "FAIL $mode: stderr lacks '$fragment'"
    failures=$((failures + 1))
  fi
  if (( end - start > 30 )); then
    echo "FAIL $mode: took $((end - start)) s, expected the job to end within 30 s (2 s timeout)"
    failures=$((failures + 1))
  fi
  if grep -q "finished without a failure" "$tmp/out"; then
    echo "FAIL $mode: a rank finished although the job should have been aborted"
    failures=$((failures + 1))
  fi
  echo "== $mode: exit $rc after $((end - start)) s; stderr:"
  sed 's/^/   /' "$tmp/err" | head -20
}

run throw "error: rank 1 of 2: shard 0 row 17: token id 70000 is beyond the vocabulary (37), expected ids < 37"
run hang "error: rank 0 of 2: MPI all_reduce sum of f32[1024] on cpu did not complete within 2 s on rank 0 of 2"

if [[ $failures -ne 0 ]]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all rank-failure checks passed"
