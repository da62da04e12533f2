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
expect_user_error "error: linea: bench: unknown suite 'gpu', expected one of core, decoder, encoder, generate" bench gpu
expect_user_error "error: linea: The following argument was not expected: --fast" bench encoder x.yaml --fast
expect_user_error "error: unknown device 'tpu', expected cpu, cuda or cuda:N" bench core --device tpu
expect_user_error "error: linea: The following argument was not expected: --fast" bench core --fast
expect_user_error "error: linea: --seq-len: expected an integer > 0, got 0" eval x.h5 --seq-len 0
expect_user_error "error: linea: --stride: expected an integer > 0, got 0" eval x.h5 --stride 0
expect_user_error "error: linea: --batch: expected an integer > 0, got -1" eval x.h5 --batch -1
expect_user_error "error: linea: --steps: expected an integer > 0, got 0" bench decoder x.yaml --steps 0
expect_user_error "error: linea: --max-new-tokens: expected an integer > 0, got 0" generate x.h5 --prompt hi --max-new-tokens 0
expect_user_error "error: linea: --contexts: expected an integer > 0, got 0" bench generate x.h5 --contexts 128,0
# --context-lengths is read before the checkpoint (x.h5 does not exist): one line each.
expect_one_line_error() {  # expect_one_line_error "message" args...
  expect_user_error "$@"
  local lines; lines=$("$linea" "${@:2}" 2>&1 >/dev/null | wc -l)
  [[ $lines -eq 1 ]] || { echo "FAIL: linea ${*:2} printed $lines lines"; failures=$((failures + 1)); }
}
list=", expected a comma-separated list of lengths such as 128,256,512"
expect_one_line_error "error: eval: --context-lengths '': a length is missing$list" eval x.h5 --context-lengths ""
expect_one_line_error "error: eval: --context-lengths '64,abc': 'abc' is not an integer >= 1$list" eval x.h5 --context-lengths 64,abc
expect_one_line_error "error: eval: --context-lengths '0,64': '0' is not an integer >= 1$list" eval x.h5 --context-lengths 0,64
expect_one_line_error "error: eval: --context-lengths '-8': '-8' is not an integer >= 1$list" eval x.h5 --context-lengths=-8
expect_one_line_error "error: eval: --context-lengths '64,32,64': 64 is given twice$list" eval x.h5 --context-lengths 64,32,64
expect_one_line_error "error: linea: --seq-len excludes --context-lengths" eval x.h5 --context-lengths 64 --seq-len 32
expect_one_line_error "error: linea: --score-last requires --context-lengths" eval x.h5 --score-last 8
expect_one_line_error "error: linea: --output requires --context-lengths" eval x.h5 --output ctx.jsonl
expect_one_line_error "error: linea: --score-last: expected an integer > 0, got 0" eval x.h5 --context-lengths 64 --score-last 0
expect_user_error "error: linea: help: unknown command 'trian', expected one of train" help trian
expect_user_error "error: train: expected a RECIPE, or --run-dir DIR --resume auto" train
expect_user_error "config.yaml not found; expected a run directory written by linea train" train --run-dir /nonexistent --resume auto

# Help and version: every command and bench suite answers --help on stdout with exit 0.
expect_help() {  # expect_help "usage fragment" args...
  local want="$1"; shift
  local out rc
  out=$("$linea" "$@" 2>&1); rc=$?
  if [[ $rc -ne 0 || "$out" != *"$want"* ]]; then
    echo "FAIL: linea $* -> exit $rc: $out (wanted exit 0 and '$want')"
    failures=$((failures + 1))
  else
    echo "ok: linea $*"
  fi
}
for cmd in train eval generate prepare info config plot bench version help; do
  expect_help "Usage: linea $cmd" "$cmd" --help
  expect_help "Usage: linea $cmd" help "$cmd"
done
for suite in core decoder encoder generate; do expect_help "Usage: linea bench $suite" bench "$suite" --help; done
expect_help "linea 0." --version
expect_help "linea 0." version
if "$linea" train --help | grep -q "{false}"; then
  echo "FAIL: train --help shows {false} flag noise"; failures=$((failures + 1))
fi
# `linea config` refuses what `linea train` would: a model kind this build does not implement.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'model:\n  ffn: {kind: mlp}\n' > "$tmp/mlp.yaml"
expect_user_error "error: model.ffn.kind: mlp is not implemented" config "$tmp/mlp.yaml"
expect_user_error "error: config: expected a RECIPE, or --keys" config
expect_user_error "error: linea: " config --keys "$tmp/mlp.yaml"
if "$linea" version | grep -q "0 GPU(s)"; then
  expect_user_error "cuda:0 requested but" bench core --device cuda --quick
fi
exit $((failures > 0))
