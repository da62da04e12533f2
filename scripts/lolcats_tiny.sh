#!/usr/bin/env bash
# LoLCATs' CPU miniature (specs/lolcats.md §9), end to end: linearize linea's tiny softmax
# decoder trained on the quickstart's KJV data. For each student variant:
#   at_init    the teacher's weights with the maps and window factors at their init (one
#              step at lr 0: the "swapped in, no transfer, no LoRA" row)
#   transfer   stage 1, recipes/lolcats/tiny_transfer.yaml (its best validation checkpoint)
#   lora       stage 2 from transfer's best, recipes/lolcats/tiny_lora.yaml
#   lora_only  stage 2 from at_init (the no-transfer baseline)
# then `linea eval` of each on the validation split, into OUT/results.md (validation
# perplexity = exp of the mean NLL over every validation window).
#
# Environment: TEACHER (a run directory or checkpoint; default runs/tnl_tiny_softmax, trained
# from recipes/transnormer/tiny_softmax.yaml when absent), OUT (default runs/lolcats_tiny),
# VARIANTS (default "hybrid_w16 linear t2r hybrid_w64"; also sliding_w1 sliding_w4
# sliding_w16 sliding_w64 for the window ablation), STEPS (per stage, default 976 = 2 epochs),
# BASELINE (default 1; 0 skips the at_init and lora_only rows, as the window ablation does).
# About 12 minutes per variant on two cores. Re-running skips finished stages.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
linea=build/train/linea
teacher=${TEACHER:-runs/tnl_tiny_softmax}
out=${OUT:-runs/lolcats_tiny}
steps=${STEPS:-976}
variants=${VARIANTS:-hybrid_w16 linear t2r hybrid_w64}
baseline=${BASELINE:-1}
if [[ ! -f data/kjv/valid/shard_00000.h5 ]]; then
  echo "lolcats_tiny.sh: data/kjv is missing; run scripts/quickstart.sh first (it prepares the KJV shards)" >&2
  exit 1
fi
[[ -e "$teacher" ]] || "$linea" train recipes/transnormer/tiny_softmax.yaml --run-dir "$teacher" --resume auto

overrides() {  # the student of each variant, as --set arguments
  case "$1" in
    hybrid_w16) ;;
    hybrid_w64) echo "--set model.attention.window=64" ;;
    linear) echo "--set model.attention.window=0" ;;
    t2r) echo "--set model.attention.window=0 --set model.attention.feature_kind=t2r --set model.attention.feature_dim=64" ;;
    sliding_w*) echo "--set model.attention.window_layout=sliding --set model.attention.window=${1#sliding_w}" ;;
    *) echo "lolcats_tiny.sh: unknown variant $1" >&2; exit 1 ;;
  esac
}

# train RUN RECIPE INIT_FROM [more linea train arguments]: skipped when RUN finished.
train() {
  local run=$1 recipe=$2 init=$3; shift 3
  [[ -f "$run/done" ]] && return 0
  rm -rf "$run"
  "$linea" train "$recipe" --run-dir "$run" --no-progress --set train.init_from="$init" --set train.steps="$steps" "$@"
  touch "$run/done"
}

ppl() { "$linea" eval "$1" 2>/dev/null | sed -n 's/.*perplexity \([0-9.]*\).*/\1/p'; }

mkdir -p "$out"
results="$out/results.md"
[[ -f "$results" ]] || {
  echo "| variant | teacher | at init (no transfer, no LoRA) | after transfer | after transfer + LoRA | LoRA only (no transfer) |"
  echo "|---|---|---|---|---|---|"
} > "$results"
teacher_ppl=$(ppl "$teacher")
for v in $variants; do
  read -r -a set <<< "$(overrides "$v")"
  [[ $baseline == 1 ]] && train "$out/$v/at_init" recipes/lolcats/tiny_transfer.yaml "$teacher" "${set[@]}" \
    --set optim.lr=0 --set train.steps=1 --set train.eval_every=0
  train "$out/$v/transfer" recipes/lolcats/tiny_transfer.yaml "$teacher" "${set[@]}"
  train "$out/$v/lora" recipes/lolcats/tiny_lora.yaml "$out/$v/transfer/checkpoints/best.h5" "${set[@]}"
  at_init=- lora_only=-
  if [[ $baseline == 1 ]]; then
    train "$out/$v/lora_only" recipes/lolcats/tiny_lora.yaml "$out/$v/at_init" "${set[@]}"
    at_init=$(ppl "$out/$v/at_init")
    lora_only=$(ppl "$out/$v/lora_only/checkpoints/best.h5")
  fi
  echo "| $v | $teacher_ppl | $at_init | $(ppl "$out/$v/transfer/checkpoints/best.h5") |" \
       "$(ppl "$out/$v/lora/checkpoints/best.h5") | $lora_only |" >> "$results"
  cat "$results"
done
