#!/usr/bin/env bash
# The Kimi synthetic suite, downscaled (specs/kimi_linear.md §8.2): palindrome, MQAR and stack
# by token mixer, length and learning rate, with recipes/kimi-linear/synthetic/suite_<mixer>.yaml.
# Per (task, L): 64,000 training examples (2,000 steps of 32 fresh ones, seed 1) and 1,000
# held out (seed 2); palindrome and stack with V 256, MQAR with V 512 and P = L / 16. A run
# stops once held-out example accuracy exceeds 0.99. Results accumulate in $OUT/results.md;
# report the best lr per (task, mixer, L). SET adds --set overrides to every run (e.g.
# SET="train.threads=1 train.device=cuda").
#   TASKS="palindrome mqar stack" LENGTHS="64 128 256" MIXERS="softmax kda gdn lightning" \
#     LRS="5e-5 1e-4 5e-4 1e-3" OUT=runs/synthetic_suite scripts/synthetic_suite.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
linea=build/train/linea
[[ -x "$linea" ]] || scripts/setup.sh
TASKS="${TASKS:-palindrome mqar stack}"
LENGTHS="${LENGTHS:-64 128 256}"
MIXERS="${MIXERS:-softmax kda gdn lightning}"
LRS="${LRS:-5e-5 1e-4 5e-4 1e-3}"
OUT="${OUT:-runs/synthetic_suite}"
mkdir -p "$OUT"
results="$OUT/results.md"
[[ -f "$results" ]] || printf '| task | mixer | L | lr | best example accuracy | at step | stopped early |\n|---|---|---|---|---|---|---|\n' > "$results"

source scripts/lib/synthetic_runs.sh
read -ra set_args <<< "${SET:-}"

for task in $TASKS; do
  for L in $LENGTHS; do
    vocab=256 task_args=()
    [[ $task == mqar ]] && vocab=512 task_args=(--pairs $((L / 16)))
    data="data/synthetic_suite/${task}_L$L"
    for split in "train 64000 1" "test 1000 2"; do
      set -- $split
      [[ -d "$data/$1" ]] || "$linea" prepare --synthetic "$task" --vocab "$vocab" --seq-len "$L" ${task_args[@]+"${task_args[@]}"} \
        --examples "$2" --seed "$3" --output "$data/$1"
    done
    for mixer in $MIXERS; do
      for lr in $LRS; do
        run_synthetic "$results" "| $task | $mixer | $L | $lr" "$OUT/${task}_L$L/${mixer}_lr$lr" \
          "$OUT/${task}_L$L-$mixer-$lr.log" "recipes/kimi-linear/synthetic/suite_$mixer.yaml" \
          --set "model.vocab_size=$vocab" "model.max_seq_len=$L" "data.seq_len=$L" "data.train=$data/train" \
          "data.valid=$data/test" "optim.lr=$lr" ${set_args[@]+"${set_args[@]}"}
      done
    done
  done
done
cat "$results"
