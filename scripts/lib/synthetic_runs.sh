# Shared by scripts/mqar_grid.sh and scripts/synthetic_suite.sh (source it): one training run
# of a synthetic task per call, stopped by the recipe's train.stop_at_accuracy, and its row in
# a markdown results table.

# The best test example accuracy of a run and its step, from its metrics.jsonl ("-1 0": none).
best_accuracy() {
  /usr/bin/python3 - "$1" <<'PY'
import json, sys
best, step = -1.0, 0
try:
    for line in open(sys.argv[1]):
        r = json.loads(line)
        if r.get("split") == "valid" and "example_accuracy" in r and r["example_accuracy"] > best:
            best, step = r["example_accuracy"], r["step"]
except FileNotFoundError:
    pass
print(f"{best:.4f} {step}")
PY
}

# run_synthetic RESULTS ROW_PREFIX RUN_DIR LOG linea-train-arguments...
# Trains (a run directory marked done is skipped; an unfinished one restarts), then appends
# "ROW_PREFIX | best | at step | stopped early |" to RESULTS. The run stops early once its
# test example accuracy exceeds train.stop_at_accuracy (Zoology's rule); "stopped early: no"
# means it used all its steps. A failed run returns 1 (naming its log), which ends a caller
# running under set -e: the grid stops at the first broken run instead of filling the table.
run_synthetic() {
  local results=$1 prefix=$2 run=$3 log=$4
  shift 4
  [[ -f "$run/done" ]] && return 0
  rm -rf "$run"
  "$linea" train "$@" --run-dir "$run" --no-progress > "$log" 2>&1 || { echo "failed: $run (see $log)" >&2; return 1; }
  local acc step early=no
  read -r acc step < <(best_accuracy "$run/metrics.jsonl")
  grep -q '(train.stop_at_accuracy): stopping at step' "$log" && early=yes
  printf '%s | %s | %s | %s |\n' "$prefix" "$acc" "$step" "$early" >> "$results"
  touch "$run/done"
}
