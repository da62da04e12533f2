#!/usr/bin/env bash
# MQAR accuracy by token mixer and length: the "linea CPU grid" of specs/kimi_linear.md §8.1.
# Vocabulary 1,024; (L, P) in SETTINGS; 20,000 train / 1,000 test examples (seeds 1 and 2);
# batch 64, cosine to 0 over STEPS (16 epochs = 5,000 steps), the test set evaluated every
# epoch; the recipes recipes/kimi-linear/synthetic/mqar_<mixer>.yaml (d_model 128, 2 layers,
# 2 heads) with those settings. A run stops once its test example accuracy (Zoology's test
# accuracy) exceeds 0.99, as Zoology's loop does (the recipes' train.stop_at_accuracy).
# Results accumulate in $OUT/results.md: best example accuracy and the step it came at. SET
# adds --set overrides to every run (e.g. SET="train.threads=1").
#   MIXERS="softmax kda gdn no_delta lightning" SETTINGS="64:4 128:8 256:16" LRS="1e-3" \
#     OUT=runs/mqar_grid scripts/mqar_grid.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
linea=build/train/linea
[[ -x "$linea" ]] || scripts/setup.sh
MIXERS="${MIXERS:-softmax kda gdn no_delta lightning}"
SETTINGS="${SETTINGS:-64:4 128:8 256:16}"
LRS="${LRS:-1e-3}"
STEPS="${STEPS:-5000}"
OUT="${OUT:-runs/mqar_grid}"
mkdir -p "$OUT"
results="$OUT/results.md"
[[ -f "$results" ]] || printf '| mixer | L | P | lr | best example accuracy | at step | stopped early |\n|---|---|---|---|---|---|---|\n' > "$results"

source scripts/lib/synthetic_runs.sh
read -ra set_args <<< "${SET:-}"

for setting in $SETTINGS; do
  L="${setting%%:*}" P="${setting##*:}"
  data="data/mqar_grid/L$L"
  for split in "train 20000 1" "test 1000 2"; do
    set -- $split
    [[ -d "$data/$1" ]] || "$linea" prepare --synthetic mqar --vocab 1024 --seq-len "$L" --pairs "$P" --examples "$2" \
      --seed "$3" --output "$data/$1"
  done
  for mixer in $MIXERS; do
    for lr in $LRS; do
      run_synthetic "$results" "| $mixer | $L | $P | $lr" "$OUT/L$L/${mixer}_lr$lr" "$OUT/L$L-$mixer-$lr.log" \
        "recipes/kimi-linear/synthetic/mqar_$mixer.yaml" \
        --set "model.vocab_size=1024" "model.max_seq_len=$L" "data.seq_len=$L" "data.train=$data/train" \
        "data.valid=$data/test" "train.batch_size=64" "train.micro_batch_size=64" "train.steps=$STEPS" \
        "train.eval_every=312" "train.log_every=52" "train.ckpt_every=1560" "optim.lr=$lr" ${set_args[@]+"${set_args[@]}"}
    done
  done
done
cat "$results"
