#!/usr/bin/env bash
# `linea plot` on handwritten metrics.jsonl files (it tests the drawing, not training): every
# --x axis, --log-x/--log-y, --smooth, several runs, paths with spaces and quotes, rows from
# before train rows carried split and tokens_seen, and the bad options (exit 2, one line);
# and on handwritten `linea eval --context-lengths --output` files (perplexity against context).
# Exits 77 (skipped) after the error checks when gnuplot is not installed.
# Usage: plot_test.sh PATH/TO/linea
set -u
linea="$(realpath "$1")"
work=$(mktemp -d /tmp/linea_plot_test_XXXXXX)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/common.sh"
cd "$work"


# A run written by this linea version: train rows with split and tokens_seen, evaluations
# every 4 steps (one at step 6, between train rows), a NaN loss logged as null.
mkdir -p new "it's a run"
for step in 2 4 6 8 10 12; do
  loss=$(awk -v s=$step 'BEGIN { printf "%.4f", 6 / s + 2 }')
  echo "{\"step\":$step,\"split\":\"train\",\"tokens_seen\":$((step * 4096)),\"loss\":$loss,\"lr\":0.001,\"grad_norm\":1.0,\"tokens_per_s\":2000.0,\"mfu\":0.1,\"peak_mem_bytes\":0,\"elapsed_s\":$((step * 2)).5}"
  ((step % 4 == 0)) && echo "{\"step\":$step,\"split\":\"valid\",\"loss\":$loss,\"perplexity\":20.0,\"tokens\":512}"
  ((step == 4)) && echo "{\"step\":6,\"split\":\"valid\",\"loss\":3.1,\"perplexity\":22.0,\"tokens\":512}"
done > new/metrics.jsonl
echo '{"step":14,"split":"train","tokens_seen":57344,"loss":null,"tokens_per_s":2000.0,"elapsed_s":28.5}' >> new/metrics.jsonl
cp new/metrics.jsonl "it's a run/"
# A run from before train rows carried split and tokens_seen.
mkdir old
printf '%s\n' '{"step":1,"loss":5.0,"tokens_per_s":1000.0,"elapsed_s":1.0}' \
  '{"step":2,"loss":4.0,"tokens_per_s":1100.0,"elapsed_s":2.0}' \
  '{"step":2,"split":"valid","loss":4.5,"perplexity":90.0,"tokens":100}' > old/metrics.jsonl

# Bad options and runs: checked before gnuplot runs.
expect_user_error "error: plot: --smooth 1.5: expected a number in [0, 1)" plot new --smooth 1.5
expect_user_error "error: plot: --smooth 1: expected a number in [0, 1)" plot new --smooth 1
expect_user_error "error: plot: --smooth -0.1: expected a number in [0, 1)" plot new --smooth -0.1
expect_user_error "--smooth = much" plot new --smooth much
expect_user_error "error: plot: --x epoch: expected step, tokens or time" plot new --x epoch
expect_user_error "error: plot: old/metrics.jsonl:1: train row without tokens_seen, expected a run written by this linea version" \
  plot old --x tokens
expect_user_error "error: plot: nowhere/metrics.jsonl: cannot open, expected a run directory written by linea train" plot nowhere
expect_user_error "error: plot: --output no/such/folder.png: folder not found" plot new --output no/such/folder.png
mkdir broken empty
printf '{"step":1,"loss":5.0}\nnot json\n' > broken/metrics.jsonl
expect_user_error "error: plot: broken/metrics.jsonl:2: not a metrics record" plot broken
echo '{"step":2,"split":"valid","loss":4.5}' > empty/metrics.jsonl
expect_user_error "error: plot: empty/metrics.jsonl: no train row with a loss" plot empty
# Context-length files as `linea eval --context-lengths --output` writes them (one with a
# diverged row), and the mistakes: mixing them with runs, run options, a metrics file.
row() { echo "{\"context_length\":$1,\"tokens\":600,\"mean_nll\":$2,\"perplexity\":0,\"checkpoint\":\"c.h5\",\"step\":400,\"data\":\"valid\",\"score_last\":32,\"stride\":512}"; }
{ row 64 3.9; row 128 3.7; row 256 3.6; row 512 3.55; } > ctx.jsonl
{ row 64 4.1; row 128 null; row 256 3.9; } > "it's ctx.jsonl"
expect_user_error "error: plot: ctx.jsonl and new are not of one kind, expected only run directories or only files written by linea eval --context-lengths --output" \
  plot ctx.jsonl new
expect_user_error "error: plot: new and ctx.jsonl are not of one kind" plot new ctx.jsonl
expect_user_error "error: plot: --x and --smooth apply to run directories; ctx.jsonl is a context-length file" plot ctx.jsonl --x tokens
expect_user_error "error: plot: --x and --smooth apply to run directories" plot ctx.jsonl --smooth 0.5
expect_user_error "error: plot: new/metrics.jsonl:1: not a context-length row, expected a JSON object with an integer context_length and a mean_nll" \
  plot new/metrics.jsonl
echo '{"context_length":64,"mean_nll":null}' > diverged.jsonl
expect_user_error "error: plot: diverged.jsonl: no context-length row with a mean_nll" plot diverged.jsonl
[[ ! -e runs.png ]] && echo "ok: no PNG written on errors" || fail "a PNG was written despite errors"

if ! command -v gnuplot >/dev/null; then
  echo "skip: gnuplot is not installed (Debian: gnuplot-nox); PNG output not checked"
  exit $((failures > 0 ? 1 : 77))
fi

expect_png() {  # expect_png FILE args...
  local png="$1"; shift
  rm -f "$png"
  if ! out=$("$linea" plot "$@" --output "$png" 2>&1); then fail "linea plot $* -> $out"; return; fi
  if [[ -s "$png" && $(head -c 8 "$png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]]; then
    echo "ok: linea plot $* -> $(stat -c %s "$png") bytes"
  else fail "linea plot $* wrote no PNG to $png ($out)"; fi
}

expect_png step.png new
expect_png tokens.png new --x tokens
expect_png time.png new --x time
expect_png log.png new --x tokens --log-x --log-y
expect_png smooth.png new --smooth 0.9
mkdir "out dir"
expect_png "out dir/it's.png" "it's a run" old --smooth 0.5 --x time --log-y
expect_png old.png old/ --x step
expect_png ctx.png ctx.jsonl
expect_png "out dir/ctx2.png" ctx.jsonl "it's ctx.jsonl" --log-y --log-x
exit $((failures > 0))
