#!/usr/bin/env bash
# Synthetic tasks from the command line (kimi_linear spec §8.1-8.2): prepare --synthetic writes
# one shard per set, the same bytes for the same seed and others for another; a tiny softmax
# decoder trains on mqar, its periodic evaluations log accuracy and example_accuracy, and
# `linea eval` prints the same accuracies for the final checkpoint; info names the task; every
# bad combination exits 2 with one line and writes nothing.
# Usage: synthetic_test.sh PATH/TO/linea
set -u
linea="$(realpath "$1")"
work=$(mktemp -d /tmp/linea_synthetic_XXXXXX)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/common.sh"
cd "$work"

mqar=(--synthetic mqar --vocab 64 --seq-len 32 --pairs 4)
"$linea" prepare "${mqar[@]}" --examples 512 --seed 1 --output train >prepare.out || fail "prepare train"
grep -q "wrote 1 shard to train: 512 mqar examples of 32 tokens (seed 1), 16385 tokens, 2048 scored targets" prepare.out \
  && echo "ok: $(cat prepare.out)" || fail "prepare printed $(cat prepare.out)"
"$linea" prepare "${mqar[@]}" --examples 64 --seed 2 --output test >/dev/null || fail "prepare test"
"$linea" prepare "${mqar[@]}" --examples 512 --seed 1 --output again >/dev/null || fail "prepare again"
cmp -s train/shard_00000.h5 again/shard_00000.h5 && echo "ok: one seed, the same shard" || fail "seed 1 gave other bytes"
"$linea" prepare "${mqar[@]}" --examples 512 --seed 3 --output other --query-layout zoology --random-non-queries true \
  >/dev/null || fail "prepare seed 3"
cmp -s train/shard_00000.h5 other/shard_00000.h5 && fail "seeds 1 and 3 gave the same shard" || echo "ok: another seed, another shard"
"$linea" info train >info.out || fail "info"
grep -q '^synthetic      mqar, examples of 32 tokens: {"examples":512,"pairs":4,"power_a":0.01,"query_layout":"zoology","random_non_queries":true,"seed":1,"seq_len":32,"task":"mqar","vocab_size":64}' info.out \
  && echo "ok: info names the task" || fail "info printed $(cat info.out)"
for task in palindrome stack; do
  "$linea" prepare --synthetic $task --vocab 256 --seq-len 32 --examples 16 --seed 1 --output $task >/dev/null \
    && echo "ok: prepare --synthetic $task" || fail "prepare --synthetic $task"
done
"$linea" prepare "${mqar[@]}" --examples 16 --seed 1 --output after_sep --query-layout after_sep >/dev/null \
  && echo "ok: --query-layout after_sep" || fail "prepare --query-layout after_sep"

cat > mqar.yaml <<YAML
seed: 5
model: {vocab_size: 64, hidden: 32, layers: 2, heads: 2, kv_heads: 2, ffn: {kind: geglu, hidden: 64}, max_seq_len: 32}
data: {train: train, valid: test, seq_len: 32}
optim: {lr: 3.0e-3}
schedule: {kind: constant}
train: {steps: 40, batch_size: 16, micro_batch_size: 16, log_every: 10, eval_every: 20, eval_batches: 0, ckpt_every: 0, threads: 1}
YAML
"$linea" train mqar.yaml --run-dir run --no-progress 2>train.err || fail "train: $(cat train.err)"
grep -q "| accuracy 0\.[0-9]* | example accuracy 0\.[0-9]* | 256 tokens" train.err \
  && echo "ok: the periodic evaluation shows the accuracies" || fail "train printed $(cat train.err)"
"$linea" eval run --data test >eval.out 2>eval.err || fail "eval: $(cat eval.err)"
/usr/bin/python3 - run/metrics.jsonl eval.out <<'PY' && echo "ok: eval prints the accuracies the last evaluation logged: $(cat eval.out)" || fail "eval printed $(cat eval.out)"
import json, re, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if '"valid"' in line]
assert [r["step"] for r in rows] == [20, 40], rows
last = rows[-1]
assert last["tokens"] == 256 and 0 <= last["accuracy"] <= 1, last
m = re.fullmatch(r"tokens 256 \| mean nll ([0-9.]+) \| perplexity [0-9.]+ \| accuracy ([0-9.]+) \| "
                 r"example accuracy ([0-9.]+) over 64 mqar examples\n", open(sys.argv[2]).read())
assert m, "eval line"
assert abs(float(m.group(1)) - last["loss"]) < 1e-5, (m.group(1), last["loss"])
assert abs(float(m.group(2)) - last["accuracy"]) < 1e-4 and abs(float(m.group(3)) - last["example_accuracy"]) < 1e-4
PY

# train.stop_at_accuracy (Zoology's stop rule): the run ends, checkpointed, after the first
# evaluation above the threshold, whose earlier evaluations were all at or below it.
"$linea" train mqar.yaml --run-dir stop --no-progress \
  --set train.steps=400 train.eval_every=10 train.stop_at_accuracy=0.04 2>stop.err || fail "stop_at_accuracy: $(cat stop.err)"
/usr/bin/python3 - stop/metrics.jsonl <<'PY' && echo "ok: stop_at_accuracy ended the run at the first evaluation above 0.04" || fail "stop_at_accuracy: $(tail -3 stop.err)"
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if '"valid"' in line]
acc = [r["example_accuracy"] for r in rows]
assert acc[-1] > 0.04 and all(a <= 0.04 for a in acc[:-1]), acc
assert rows[-1]["step"] < 400, rows[-1]
PY
stopped_at=$(sed -n 's/.*(train.stop_at_accuracy): stopping at step \([0-9]*\)$/\1/p' stop.err)
[[ -n "$stopped_at" && -f stop/checkpoints/step_$(printf %07d "$stopped_at").h5 ]] \
  && echo "ok: it says why and keeps the checkpoint of step $stopped_at" || fail "stop_at_accuracy printed $(cat stop.err)"
# Resuming a run that stopped on accuracy trains nothing; a threshold raised above the
# accuracy that stopped it lets it go on.
rows_before=$(wc -l < stop/metrics.jsonl)
"$linea" train --run-dir stop --resume auto --no-progress 2>again.err || fail "resume after the stop: $(cat again.err)"
grep -q "the run stopped at step $stopped_at with example accuracy .* > 0.04 (train.stop_at_accuracy); nothing to train" again.err \
  && [[ $(wc -l < stop/metrics.jsonl) == "$rows_before" && $(cat stop/latest) == *"step_$(printf %07d "$stopped_at").h5" ]] \
  && echo "ok: a resumed run that stopped on accuracy trains nothing" || fail "resume after the stop printed $(cat again.err)"
"$linea" train --run-dir stop --resume auto --no-progress \
  --set train.stop_at_accuracy=0.999 train.steps=$((stopped_at + 2)) 2>raised.err || fail "raised threshold: $(cat raised.err)"
[[ -f stop/checkpoints/step_$(printf %07d $((stopped_at + 2))).h5 ]] \
  && echo "ok: a raised threshold continues the run" || fail "raised threshold printed $(cat raised.err)"
expect_user_error "train.stop_at_accuracy: expected train.eval_every > 0" train mqar.yaml --run-dir bad \
  --set train.eval_every=0 train.stop_at_accuracy=0.5
expect_user_error "train.stop_at_accuracy: expected a number in [0, 1), got 1" train mqar.yaml --run-dir bad \
  --set train.stop_at_accuracy=1

# Bad combinations: one line, exit 2, nothing written.
expect_user_error "vocabulary 32 is not larger than the sequence length 32, expected V > L" \
  prepare --synthetic mqar --vocab 32 --seq-len 32 --pairs 4 --examples 8 --seed 1 --output bad
expect_user_error "9 pairs need 36 tokens, more than the sequence length 32, expected 4P <= L" \
  prepare --synthetic mqar --vocab 64 --seq-len 32 --pairs 9 --examples 8 --seed 1 --output bad
expect_user_error "sequence length 31 is odd" prepare --synthetic mqar --vocab 64 --seq-len 31 --pairs 4 --examples 8 --seed 1 --output bad
expect_user_error "expected 4P + 1 <= L" \
  prepare --synthetic mqar --vocab 64 --seq-len 32 --pairs 8 --query-layout after_sep --examples 8 --seed 1 --output bad
expect_user_error "prepare: --synthetic mqar: missing --seed S, --pairs P" prepare --synthetic mqar --vocab 64 --seq-len 32 --examples 8 --output bad
expect_user_error "--pairs, --query-layout and --random-non-queries are for mqar only" \
  prepare --synthetic stack --vocab 256 --seq-len 32 --pairs 4 --examples 8 --seed 1 --output bad
expect_user_error "--random-non-queries is for --query-layout zoology" \
  prepare "${mqar[@]}" --query-layout after_sep --random-non-queries false --examples 8 --seed 1 --output bad
expect_user_error "vocabulary 67, expected > 67" prepare --synthetic stack --vocab 67 --seq-len 32 --examples 8 --seed 1 --output bad
expect_user_error "--tokenizer excludes --synthetic" prepare "${mqar[@]}" --tokenizer x.model --examples 8 --seed 1 --output bad
expect_user_error "--vocab requires --synthetic" prepare --tokenizer x.model --input x.txt --vocab 64 --output bad
expect_user_error "--synthetic: queue not in {mqar,palindrome,stack}" prepare --synthetic queue --output bad
expect_user_error "prepare: --tokenizer is required (or --synthetic TASK)" prepare --input x.txt --output bad
[[ ! -e bad ]] && echo "ok: refused settings wrote nothing" || fail "a refused prepare left $(ls -a bad)"
expect_user_error "already holds 1 shards, expected --force to replace them" prepare "${mqar[@]}" --examples 8 --seed 9 --output train
cmp -s train/shard_00000.h5 again/shard_00000.h5 || fail "a refused prepare replaced the shard"
expect_user_error "eval: windows of seq_len 16 every 16 tokens do not fit the 32-token examples of the synthetic mqar shards in test" \
  eval run --data test --seq-len 16
expect_user_error "the shards in palindrome come from synthetic palindrome vocab 256" eval run --data palindrome
expect_user_error "causal dataset: windows of seq_len 16 every 16 tokens do not fit" train mqar.yaml --run-dir run16 --set data.seq_len=16
exit $((failures > 0))
