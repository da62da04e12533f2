#!/usr/bin/env bash
# A GPU test that cannot run skips with the CUDA probe's reason, and fails the run instead
# where a GPU is required (LINEA_REQUIRE_GPU=1, as scripts/test_gpu.sh sets), so a machine
# whose GPU is missing or whose driver is too old cannot pass the GPU suite by skipping.
# CUDA_VISIBLE_DEVICES= hides every GPU, so this holds on machines with and without one.
#   tests/cuda/require_gpu_test.sh path/to/linea_cuda_tests
set -uo pipefail
bin="$1"
test_name=CudaParity.PhiloxStreamsAreIdentical
failures=0

check() {  # check DESCRIPTION EXPECTED_RC OUTPUT_FRAGMENT... (reads $rc and $out)
  local what="$1" want_rc="$2"; shift 2
  local ok=1 fragment
  [[ "$want_rc" == 0 && $rc -ne 0 || "$want_rc" != 0 && $rc -eq 0 ]] && ok=0
  for fragment in "$@"; do [[ "$out" == *"$fragment"* ]] || ok=0; done
  if [[ $ok == 1 ]]; then
    echo "ok: $what"
  else
    echo "FAIL: $what: exit $rc, output:"; echo "$out"
    failures=$((failures + 1))
  fi
}

out=$(CUDA_VISIBLE_DEVICES= LINEA_REQUIRE_GPU= "$bin" --gtest_filter="$test_name" 2>&1); rc=$?
check "without the requirement it skips with the reason" 0 "[  SKIPPED ] $test_name" "0 GPU(s) visible: "

out=$(CUDA_VISIBLE_DEVICES= LINEA_REQUIRE_GPU=1 "$bin" --gtest_filter="$test_name" 2>&1); rc=$?
check "with LINEA_REQUIRE_GPU=1 it fails with the reason" 1 "[  FAILED  ] $test_name" \
  "a GPU is required (LINEA_REQUIRE_GPU=1) but this test cannot run: CUDA runtime " "0 GPU(s) visible: "

[[ $failures == 0 ]]
