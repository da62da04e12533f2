#!/usr/bin/env bash
# End-to-end `linea` on real text: prepare (training a tokenizer), train, SIGTERM stop and
# --resume auto, kill -9 during training, eval, info, plot, and the bad inputs a user can
# give, each with exit code 2 and one clear line.
# Usage: train_cli_test.sh PATH/TO/linea
set -u
linea="$(realpath "$1")"
work=$(mktemp -d /tmp/linea_cli_XXXXXX)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/common.sh"


cd "$work"
export LINEA_CACHE_DIR="$work/cache"  # the MFU peak cache starts empty
prepare_kjv_shards

cat > tiny.yaml <<YAML
seed: 3
model: {vocab_size: 400, hidden: 32, layers: 2, heads: 4, kv_heads: 4, ffn: {hidden: 64}, max_seq_len: 64}
data: {train: train, valid: valid, seq_len: 32}
optim: {lr: 3.0e-3}
schedule: {kind: cosine, warmup_steps: 2}
train: {steps: 400, batch_size: 8, micro_batch_size: 8, log_every: 1, eval_every: 100, eval_batches: 2,
        ckpt_every: 50, keep_checkpoints: 2, threads: 1}
YAML

# SIGTERM: finish the step, checkpoint, exit 0; then --resume auto completes the run.
"$linea" train tiny.yaml --run-dir run --no-progress 2>/dev/null &
pid=$!
for _ in $(seq 100); do [[ -s run/metrics.jsonl ]] && break; sleep 0.1; done
sleep 0.3
kill -TERM $pid
wait $pid; rc=$?
[[ $rc -eq 0 ]] || fail "SIGTERM: exit $rc, expected 0"
[[ -f run/latest ]] || fail "SIGTERM: no latest checkpoint written"
stopped=$("$linea" info "run/$(cat run/latest)" | awk '/^step/ {print $2}')
[[ -n "$stopped" && "$stopped" -lt 400 ]] && echo "ok: SIGTERM stopped at step $stopped" || fail "SIGTERM: step '$stopped'"

# kill -9 in the middle of training (checkpoints every 50 steps): `latest` must still name
# a complete checkpoint, and resuming must work.
"$linea" train tiny.yaml --run-dir run --resume auto --no-progress 2>/dev/null &
pid=$!
sleep 1.5
kill -KILL $pid 2>/dev/null
wait $pid 2>/dev/null
"$linea" info "run/$(cat run/latest)" >/dev/null || fail "after kill -9, latest ($(cat run/latest)) is not a complete checkpoint"
"$linea" train tiny.yaml --run-dir run --resume auto --no-progress 2>resume9.err || fail "resume after kill -9: $(cat resume9.err)"
final=$("$linea" info "run/$(cat run/latest)" | awk '/^step/ {print $2}')
[[ "$final" == 400 ]] && echo "ok: resumed to step 400" || fail "final step '$final'"
n=$(ls run/checkpoints/*.h5 | wc -l)
[[ $n -eq 2 ]] && echo "ok: keep_checkpoints kept $n" || fail "keep_checkpoints: $n files"
# The kill -9 left steps logged after its last checkpoint: the resume dropped them, so each
# step is logged once, and the training clock continued instead of restarting at 0.
/usr/bin/python3 - run/metrics.jsonl <<'PY' && echo "ok: metrics.jsonl has each step once, elapsed_s increasing" || fail "metrics.jsonl after kill -9"
import json, sys
rows = [r for r in map(json.loads, open(sys.argv[1])) if r["split"] == "train"]
steps = [r["step"] for r in rows]
assert steps == list(range(1, 401)), f"train steps {steps[:5]}..{steps[-5:]}, {len(steps)} rows"
elapsed = [r["elapsed_s"] for r in rows]
assert all(b >= a for a, b in zip(elapsed, elapsed[1:])), "elapsed_s went back"
assert all(r["tokens_seen"] == 8 * 32 * r["step"] for r in rows), "tokens_seen"
PY

# The loss fell on real text, and eval/info/plot work on the result.
first=$(head -1 run/metrics.jsonl | sed 's/.*"loss":\([0-9.]*\).*/\1/')
last=$(grep "\"split\":\"train\"" run/metrics.jsonl | tail -1 | sed 's/.*"loss":\([0-9.]*\).*/\1/')
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a - 1.5) }' && echo "ok: loss $first -> $last" \
  || fail "loss did not fall: $first -> $last"
out=$("$linea" eval "run/$(cat run/latest)" --data valid --stride 16) || fail "eval"
[[ "$out" == *"perplexity"* ]] && echo "ok: $out" || fail "eval output: $out"
"$linea" info "run/$(cat run/latest)" | grep -q "layers.1.mlp.down_proj.weight" || fail "info tensor table"
# A run directory or its `latest` file stands for the latest checkpoint; without --data,
# eval scores the recipe's data.valid. All three give the same result as the file itself.
want=$("$linea" eval "run/$(cat run/latest)" --data valid 2>/dev/null)
for ckpt in run run/latest; do
  [[ "$("$linea" eval $ckpt 2>/dev/null)" == "$want" ]] && echo "ok: eval $ckpt" || fail "eval $ckpt"
  "$linea" info $ckpt | grep -q "^step           400" && echo "ok: info $ckpt" || fail "info $ckpt"
done
# Batches only regroup the same windows: the NLL agrees to float rounding (1e-6 relative).
other=$("$linea" eval run --batch 3 2>/dev/null)
awk -v a="$want" -v b="$other" 'BEGIN { split(a, x, "mean nll "); split(b, y, "mean nll "); d = x[2] - y[2];
  exit !(x[2] > 0 && (d < 0 ? -d : d) < 1e-6 * x[2]) }' && echo "ok: eval --batch 3 equals the automatic batch" \
  || fail "eval --batch 3: $other, automatic batch: $want"
"$linea" eval run --seq-len 48 2>&1 >/dev/null | grep -q "longer than the 32 tokens the model was trained on"   && echo "ok: eval beyond the trained context warns" || fail "no warning beyond the trained context"
# Perplexity against context length: one row per length, the same targets counted in each,
# the table written for plot; lengths past max_seq_len and a missing --output folder refused
# before any work, each with one line.
"$linea" eval run --context-lengths 64,8,16,32 --output ctx.jsonl >ctx.out 2>ctx.err || fail "eval --context-lengths: $(cat ctx.err)"
awk 'NR == 1 { ok = $1 == "context" && $5 == "perplexity" } NR > 1 { n++; len[n] = $1; tok[n] = $2 }
  END { exit !(ok && n == 4 && len[1] == 8 && len[4] == 64 && tok[1] > 0 && tok[1] == tok[2] && tok[2] == tok[3] && tok[3] == tok[4]) }' ctx.out \
  && [[ $(wc -l < ctx.jsonl) -eq 4 ]] && grep -q "^linea: wrote ctx.jsonl" ctx.err && grep -q "the last 4 tokens of windows every 64 tokens" ctx.err \
  && grep -q "warning: eval: --context-lengths 64 is longer than the 32 tokens the model was trained on" ctx.err \
  && echo "ok: eval --context-lengths: $(tr '\n' '|' < ctx.out)" || fail "eval --context-lengths printed $(cat ctx.out) $(cat ctx.err)"
one_line_error() {  # one_line_error "message" args...
  local err; err=$("$linea" "${@:2}" 2>&1 >/dev/null)
  [[ $(printf '%s\n' "$err" | wc -l) -eq 1 ]] || fail "linea ${*:2}: more than one line: $err"
  expect_user_error "$@"
}
one_line_error "error: eval: --context-lengths: 128 exceeds the model's max_seq_len 64, expected lengths <= 64" eval run --context-lengths 16,128
one_line_error "error: eval: --score-last 9 exceeds the shortest context length 8, expected 1 .. 8 targets per window" \
  eval run --context-lengths 8,16 --score-last 9
one_line_error "error: eval: --stride 2 is shorter than the 4 targets scored per window" eval run --context-lengths 8,16 --stride 2
one_line_error "error: eval: --output nowhere/ctx.jsonl: folder not found, expected an existing folder" \
  eval run --context-lengths 8,16 --output nowhere/ctx.jsonl
"$linea" info valid | grep -q "^tokens " && "$linea" info valid/shard_00000.h5 | grep -q "^vocab size     400"   && echo "ok: info describes shards" || fail "info on shards: $("$linea" info valid 2>&1)"
mkdir -p empty_run/checkpoints
expect_user_error "empty_run: the run directory has no checkpoint yet" info empty_run
expect_user_error "a directory, expected a checkpoint .h5, a run directory or its \`latest\` file" eval tok
if command -v gnuplot >/dev/null; then
  "$linea" plot run --output plot.png >/dev/null && [[ -s plot.png ]] && echo "ok: plot" || fail "plot"
  "$linea" plot ctx.jsonl --output ctx.png >/dev/null && [[ -s ctx.png ]] && echo "ok: plot ctx.jsonl" || fail "plot ctx.jsonl"
fi

# Bad input: one line naming file, line, key and expectation; exit 2; nothing lost.
printf 'model: {hidden: 32\n  layers: [\n' > broken.yaml
expect_user_error "broken.yaml:" train broken.yaml --run-dir bad
sed 's/optim: {lr: 3.0e-3}/optim: {lrr: 3.0e-3}/' tiny.yaml > typo.yaml
expect_user_error "did you mean 'lr'?" train typo.yaml --run-dir bad
expect_user_error "optim.lr: expected a number" train tiny.yaml --run-dir bad --set optim.lr=fast
expect_user_error "optim.lr" train tiny.yaml --run-dir bad --set optim.lr=-1
expect_user_error "train.stop_at_accuracy: the validation data (valid) reports no example accuracy; expected synthetic-task shards" \
  train tiny.yaml --run-dir bad --set train.stop_at_accuracy=0.5
# A warmup not shorter than the run (a smoke test of a long recipe) becomes a tenth of it, with a warning.
out=$("$linea" config tiny.yaml --set train.steps=20 --set schedule.warmup_steps=50 2>warn.txt) || fail "config with a long warmup"
[[ "$out" == *"warmup_steps: 2"* && "$(cat warn.txt)" == "warning: --set schedule.warmup_steps=50: schedule.warmup_steps 50 >= train.steps 20 for a decaying schedule; warming up for 2 steps instead" ]] \
  && echo "ok: long warmup shortened" || fail "long warmup: $(cat warn.txt)"
expect_user_error "data.train (nowhere resolved to $work/nowhere): token shard folder not found: nowhere" train tiny.yaml --run-dir bad --set data.train=nowhere
expect_user_error "data.train: shards in train use a vocabulary of 400 tokens (tokenizer tok/kjv.model), model.vocab_size is 8000; expected 400 (or padded up to at most 512)" \
  train tiny.yaml --run-dir bad --set model.vocab_size=8000
expect_user_error "already holds checkpoints" train tiny.yaml --run-dir run
expect_user_error "model.hidden: 32 vs 64" train tiny.yaml --run-dir bad --set model.hidden=64 --resume "run/$(cat run/latest)"
expect_user_error "not a linea checkpoint" eval train/shard_00000.h5 --data valid
head -c 2000 "run/$(cat run/latest)" > truncated.h5
expect_user_error "truncated" info truncated.h5
expect_user_error "no such file" eval missing.h5 --data valid
expect_user_error "missing.txt" prepare --tokenizer tok/kjv.model --input missing.txt --output out
# prepare refuses to replace shards (and the tokenizer it would retrain) without --force.
before=$(sha256sum tok/kjv.model)
expect_user_error "already holds 1 shards, expected --force" prepare --tokenizer tok/kjv.model --train-vocab 400 \
  --input train.txt --output train
[[ "$(sha256sum tok/kjv.model)" == "$before" ]] || fail "a refused prepare replaced the tokenizer"
expect_user_error "tok/kjv.model already exists and shards or checkpoints may depend on it; expected --force" \
  prepare --tokenizer tok/kjv.model --train-vocab 300 --input train.txt --output new_shards
[[ "$(sha256sum tok/kjv.model)" == "$before" && ! -e new_shards ]] || fail "a refused --train-vocab replaced the tokenizer"
"$linea" prepare --tokenizer tok/kjv.model --input valid.txt --output valid --force >/dev/null || fail "prepare --force"
# A train/validation split by document (a verse each), with progress; the same shards for
# any --threads.
awk '{ print; print "" }' train.txt > verses.txt
for threads in 1 2; do
  "$linea" prepare --tokenizer tok/kjv.model --input verses.txt --output split$threads --valid-fraction 0.2 \
    --valid-output split${threads}_valid --split-seed 5 --threads $threads --progress >split.out 2>split.err \
    || fail "prepare --valid-fraction --threads $threads"
done
grep -q "validation shard(s) to split2_valid" split.out || fail "prepare --valid-fraction printed $(cat split.out)"
grep -q "MB/s" split.err || fail "prepare --progress printed $(cat split.err)"
cmp -s split1/shard_00000.h5 split2/shard_00000.h5 && cmp -s split1_valid/shard_00000.h5 split2_valid/shard_00000.h5 \
  || fail "prepare wrote other shards with --threads 2 than with --threads 1"
expect_user_error "a valid fraction > 0 and a valid output folder go together" prepare --tokenizer tok/kjv.model \
  --input valid.txt --output out --valid-fraction 0.1
expect_user_error "threads -1, expected >= 0" prepare --tokenizer tok/kjv.model --input valid.txt --output out --threads -1

# Shards from another tokenizer than the recipe's, or than the training shards: refused.
"$linea" prepare --tokenizer tok2/other.model --train-vocab 400 --input valid.txt --output valid_other >/dev/null \
  || fail "prepare with a second tokenizer"
expect_user_error "expected the same tokenizer" train tiny.yaml --run-dir bad --set data.valid=valid_other
expect_user_error "data.tokenizer: tok2/other.model" train tiny.yaml --run-dir bad --set data.tokenizer=tok2/other.model
expect_user_error "data.tokenizer: " train tiny.yaml --run-dir bad --set data.tokenizer=missing.model
# eval checks the tokenizer as resume does: shards of another tokenizer are refused.
expect_user_error "come from tok2/other.model (sha256 " eval run --data valid_other
[[ ! -e bad ]] || fail "refused runs left a run directory bad/"

# --dry-run: the resolved recipe, its layout, parameters, FLOPs per token and peak memory; no run directory.
out=$("$linea" train tiny.yaml --run-dir dry --dry-run 2>/dev/null) || fail "dry run"
[[ "$out" == *"seq_len: 32"* && "$out" == *"parameters       "* && "$out" == *"flops per token"* && "$out" == *"peak memory      ~"* && "$out" == *"layers 0-1: softmax rope | swiglu 64"* && ! -e dry ]] \
  && echo "ok: dry run" || fail "dry run printed: $out"

# Resuming without the recipe uses the run's config.yaml; a longer run warns of the LR jump,
# keeps the earlier config, and --no-progress still prints evaluations and the summary.
"$linea" train --run-dir run --resume auto --no-progress --set train.steps=420 2>resume.err || fail "resume from config.yaml"
grep -q "using run/config.yaml" resume.err && grep -q "the schedule changed on resume (train.steps 400 -> 420): the lr at step 400 moves from" resume.err \
  && echo "ok: resume without a recipe warns of the LR change" || fail "resume without a recipe: $(cat resume.err)"
grep -q "^eval step 420" resume.err && grep -q "^linea: done: 420 steps" resume.err && grep -q "^linea: saved run/checkpoints/step_0000420.h5" resume.err \
  && ! grep -q "^step " resume.err && echo "ok: --no-progress keeps evaluations, checkpoints and the summary" \
  || fail "--no-progress output: $(cat resume.err)"
grep -q "^linea: data data.train train (" resume.err && grep -q "tokens per step" resume.err \
  && echo "ok: start-up header" || fail "header: $(cat resume.err)"
grep -q "steps: 400" run/config.until_step_0000400.yaml && grep -q "steps: 420" run/config.yaml \
  && echo "ok: config history kept" || fail "config history: $(ls run)"

# MFU stays below 100% when a CPU-heavy process slows the peak measurement at start-up.
rm -rf "$LINEA_CACHE_DIR"
busy=(); for _ in 1 2 3; do (while :; do :; done) & busy+=($!); done
"$linea" train tiny.yaml --run-dir mfu --no-progress --set train.steps=150 --set train.eval_every=0 2>mfu.err &
pid=$!
sleep 3; kill "${busy[@]}"; wait "${busy[@]}" 2>/dev/null
wait $pid || fail "training for the MFU check: $(cat mfu.err)"
max=$(/usr/bin/python3 -c 'import json,sys; print(max(r["mfu"] for r in map(json.loads, open(sys.argv[1])) if r["split"] == "train"))' mfu/metrics.jsonl)
awk -v m="$max" 'BEGIN { exit !(m > 0 && m <= 1) }' && echo "ok: MFU at most $max with a busy start-up" || fail "MFU reached $max"
[[ $(ls run/checkpoints/*.h5 | wc -l) -eq 2 ]] || fail "bad input removed checkpoints"

echo "$failures failure(s)"
exit $((failures > 0))
