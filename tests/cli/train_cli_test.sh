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

expect_user_error() {  # expect_user_error "message fragment" args...
  local want="$1"; shift
  local err rc
  err=$("$linea" "$@" 2>&1 >/dev/null); rc=$?
  if [[ $rc -ne 2 || "$err" != *"$want"* ]]; then fail "linea $* -> exit $rc: $err (wanted exit 2 and '$want')"
  else echo "ok: $err"; fi
}

cd "$work"
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
"$linea" train tiny.yaml --run-dir run --resume auto --no-progress 2>/dev/null || fail "resume after kill -9"
final=$("$linea" info "run/$(cat run/latest)" | awk '/^step/ {print $2}')
[[ "$final" == 400 ]] && echo "ok: resumed to step 400" || fail "final step '$final'"
n=$(ls run/checkpoints/*.h5 | wc -l)
[[ $n -eq 2 ]] && echo "ok: keep_checkpoints kept $n" || fail "keep_checkpoints: $n files"

# The loss fell on real text, and eval/info/plot work on the result.
first=$(head -1 run/metrics.jsonl | sed 's/.*"loss":\([0-9.]*\).*/\1/')
last=$(grep -v split run/metrics.jsonl | tail -1 | sed 's/.*"loss":\([0-9.]*\).*/\1/')
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a - 1.5) }' && echo "ok: loss $first -> $last" \
  || fail "loss did not fall: $first -> $last"
out=$("$linea" eval "run/$(cat run/latest)" --data valid --stride 16) || fail "eval"
[[ "$out" == *"perplexity"* ]] && echo "ok: $out" || fail "eval output: $out"
"$linea" info "run/$(cat run/latest)" | grep -q "layers.1.mlp.down_proj.weight" || fail "info tensor table"
if command -v gnuplot >/dev/null; then
  "$linea" plot run --output plot.png >/dev/null && [[ -s plot.png ]] && echo "ok: plot" || fail "plot"
fi

# Bad input: one line naming file, line, key and expectation; exit 2; nothing lost.
printf 'model: {hidden: 32\n  layers: [\n' > broken.yaml
expect_user_error "broken.yaml:" train broken.yaml --run-dir bad
sed 's/optim: {lr: 3.0e-3}/optim: {lrr: 3.0e-3}/' tiny.yaml > typo.yaml
expect_user_error "did you mean 'lr'?" train typo.yaml --run-dir bad
expect_user_error "optim.lr: expected a number" train tiny.yaml --run-dir bad --set optim.lr=fast
expect_user_error "optim.lr" train tiny.yaml --run-dir bad --set optim.lr=-1
expect_user_error "schedule.warmup_steps: expected fewer than train.steps (5)" train tiny.yaml --run-dir bad --set train.steps=5 --set schedule.warmup_steps=10
expect_user_error "data.train: token shard folder not found: nowhere" train tiny.yaml --run-dir bad --set data.train=nowhere
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
[[ $(ls run/checkpoints/*.h5 | wc -l) -eq 2 ]] || fail "bad input removed checkpoints"

echo "$failures failure(s)"
exit $((failures > 0))
