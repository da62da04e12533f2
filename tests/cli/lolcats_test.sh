#!/usr/bin/env bash
# LoLCATs' two stages from the command line on a tiny softmax teacher: attention transfer
# (data.objective: attention_transfer) trains only the feature maps and window factors
# (train.trainable), lowers its validation loss and keeps the best checkpoint (train.keep_best,
# kept across a resume); LoRA from that checkpoint changes only the adapters; the linearized
# model with adapters evaluates and generates; bad stage settings exit 2 with one line.
# Usage: lolcats_test.sh PATH/TO/linea
set -u
linea="$(realpath "$1")"
work=$(mktemp -d /tmp/linea_lolcats_XXXXXX)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/common.sh"


cd "$work"
prepare_kjv_shards
cat > teacher.yaml <<YAML
seed: 3
model: {vocab_size: 400, hidden: 32, layers: 2, heads: 4, kv_heads: 2, ffn: {kind: swiglu, hidden: 64}, max_seq_len: 64}
data: {train: train, valid: valid, seq_len: 32}
optim: {lr: 3.0e-3}
train: {steps: 30, batch_size: 8, micro_batch_size: 8, log_every: 10, eval_every: 0, ckpt_every: 0, threads: 1}
YAML
"$linea" train teacher.yaml --run-dir teacher --no-progress 2>teacher.err || fail "teacher: $(cat teacher.err)"
cat > transfer.yaml <<YAML
base: teacher.yaml
model:
  attention: {kind: hedgehog_window, window: 4, window_layout: terrace, feature_dim: 4}
data: {objective: attention_transfer}
optim: {lr: 1.0e-2, weight_decay: 0.0, grad_clip: 0.0}
schedule: {kind: plateau, plateau_patience: 10, plateau_factor: 0.1, min_lr_ratio: 1.0e-3}
train: {steps: 24, eval_every: 6, eval_batches: 4, ckpt_every: 12, keep_best: true, trainable: ["*feature_map*", "*window_factors"],
        init_from: teacher}
YAML
"$linea" train transfer.yaml --run-dir transfer --no-progress --set train.steps=12 2>transfer.err || fail "transfer: $(cat transfer.err)"
"$linea" train transfer.yaml --run-dir transfer --no-progress --resume auto 2>>transfer.err || fail "transfer resume: $(cat transfer.err)"
grep -q "train.trainable: 520 of" transfer.err && echo "ok: only the maps and window factors train" || fail "trainable: $(cat transfer.err)"
[[ -s transfer/checkpoints/best.h5 && -s transfer/checkpoints/best.json ]] && echo "ok: best checkpoint kept" || fail "no best.h5: $(ls transfer/checkpoints)"
/usr/bin/python3 - teacher transfer <<'PY' && echo "ok: transfer lowered its loss; the teacher's tensors are untouched" || fail "transfer check"
import glob, json, sys, h5py, numpy as np
evals = [json.loads(l) for l in open(sys.argv[2] + "/metrics.jsonl") if '"valid"' in l]
losses = [e["loss"] for e in evals]
assert len(losses) >= 4 and losses[-1] < 0.95 * losses[0], losses
best = json.load(open(sys.argv[2] + "/checkpoints/best.json"))
assert abs(best["valid_loss"] - min(losses)) <= 1e-9 * min(losses), (best, losses)  # the resume kept comparing
t = h5py.File(sorted(glob.glob(sys.argv[1] + "/checkpoints/*.h5"))[-1])
s = h5py.File(sys.argv[2] + "/checkpoints/best.h5")
for n in t["model"]:
    assert np.array_equal(np.asarray(t["model"][n]), np.asarray(s["model"][n])), n
assert any("feature_map" in n for n in s["model"])
PY

cat > lora.yaml <<YAML
base: transfer.yaml
model:
  lora: {r: 2, alpha: 4.0}
data: {objective: causal}
optim: {lr: 1.0e-3}
train: {steps: 10, eval_every: 5, trainable: ["*lora_*"], init_from: transfer/checkpoints/best.h5}
YAML
"$linea" train lora.yaml --run-dir lora --no-progress 2>lora.err || fail "lora: $(cat lora.err)"
/usr/bin/python3 - transfer/checkpoints/best.h5 lora <<'PY' && echo "ok: LoRA changed only the adapters" || fail "lora check"
import glob, sys, h5py, numpy as np
a = h5py.File(sys.argv[1]); b = h5py.File(sorted(glob.glob(sys.argv[2] + "/checkpoints/step_*.h5"))[-1])
changed = [n for n in b["model"] if n not in a["model"] or not np.array_equal(np.asarray(a["model"][n]), np.asarray(b["model"][n]))]
assert changed and all("lora_" in n for n in changed), changed
assert any(n.endswith("lora_B") for n in changed)
PY
"$linea" eval lora 2>/dev/null | grep -q "perplexity" && echo "ok: eval of the linearized model" || fail "eval lora"
g=$("$linea" generate lora --prompt "And God said" --max-new-tokens 8 --temperature 0 2>/dev/null)
[[ "$g" == "And God said"* ]] && echo "ok: generate: $g" || fail "generate: $g"

expect_user_error "train.trainable: '*nothing*' matches no parameter" train transfer.yaml --run-dir bad --no-progress \
  --set 'train.trainable=["*nothing*"]'
expect_user_error "data.objective: attention_transfer needs a decoder with hedgehog_window layers" train teacher.yaml \
  --run-dir bad --no-progress --set data.objective=attention_transfer
expect_user_error "transfer.xent_factor" train transfer.yaml --run-dir bad --no-progress --set transfer.xent_factor=-1
expect_user_error "model.lora.targets: layer 0's token mixer has no projection 'qkv_proj'" train lora.yaml --run-dir bad \
  --no-progress --set 'model.lora.targets=[qkv_proj]'

[[ $failures -eq 0 ]] || { echo "$failures failure(s)"; exit 1; }
echo "all LoLCATs stage checks passed"
