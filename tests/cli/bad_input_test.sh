#!/usr/bin/env bash
# Bad command lines get one clear "error:" line on stderr and exit code 2.
# Usage: bad_input_test.sh PATH/TO/linea
set -u
linea="$1"
failures=0

expect_user_error() {  # expect_user_error "message fragment" args...
  local want="$1"; shift
  local err rc
  err=$("$linea" "$@" 2>&1 >/dev/null); rc=$?
  if [[ $rc -ne 2 || "$err" != *"$want"* ]]; then
    echo "FAIL: linea $* -> exit $rc, stderr: $err (wanted exit 2 and '$want')"
    failures=$((failures + 1))
  else
    echo "ok: linea $* -> $err"
  fi
}

expect_user_error "Usage:"
expect_user_error "error: linea: unknown command 'frobnicate', expected one of train" frobnicate
expect_user_error "error: linea: " train --no-such-flag x.yaml
expect_user_error "error: linea: " eval
expect_user_error "error: bench: unknown suite 'gpu', expected: core, decoder or encoder" bench gpu
expect_user_error "error: bench encoder: unknown argument '--fast'" bench encoder x.yaml --fast
expect_user_error "error: unknown device 'tpu', expected cpu, cuda or cuda:N" bench core --device tpu
expect_user_error "error: bench core: unknown argument '--fast'" bench core --fast
if "$linea" version | grep -q "0 GPU(s)"; then
  expect_user_error "cuda:0 requested but" bench core --device cuda --quick
fi
exit $((failures > 0))
