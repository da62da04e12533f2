#!/usr/bin/env bash
# `linea train` under mpirun on real text: 2 ranks with per-rank batch B end with the same
# parameters as 1 rank with batch 2B (relative L2 1e-5 per tensor: the only difference is
# the order of float sums in the gradient average), with gradient accumulation on, with and
# without ZeRO-1 (whose gathered optimizer state must equal the replicated one); and a
# 2-rank checkpoint resumed on 1 rank and on 2 ranks continues as the uninterrupted run.
# Usage: dist_train_test.sh PATH/TO/linea PATH/TO/mpirun_ranks.sh
set -u
linea="$(realpath "$1")"
ranks="$(realpath "$2")"
work=$(mktemp -d /tmp/linea_dist_XXXXXX)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/common.sh"
run1() { OMP_NUM_THREADS=1 "$linea" train "$@" --no-progress 2>>"$work/log" || fail "1 rank: linea train $*"; }
run2() { "$ranks" 2 "$linea" train "$@" --no-progress 2>>"$work/log" || fail "2 ranks: linea train $*"; }

# Compares /model (and with a third argument "optim", /optim) of two checkpoints.
compare() {
  /usr/bin/python3 - "$1" "$2" "${3:-model}" <<'PY' || fail "compare $1 $2 ${3:-model}"
import sys
import h5py
import numpy as np
a, b, what = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r"), sys.argv[3]
groups = ["model"] + (["buffers"] if "buffers" in a else []) + (["optim"] if what == "optim" else [])
worst = 0.0
for g in groups:
    names = []
    a[g].visit(lambda n: names.append(n) if isinstance(a[g][n], h5py.Dataset) else None)
    assert names, f"no tensors under /{g}"
    for n in names:
        x, y = np.asarray(a[g][n], np.float64), np.asarray(b[g][n], np.float64)
        rel = np.linalg.norm(x - y) / max(np.linalg.norm(y), 1e-30)
        worst = max(worst, rel)
        if rel > 1e-5:
            sys.exit(f"/{g}/{n}: relative L2 difference {rel:.3g} > 1e-5")
print(f"ok: {sys.argv[1]} vs {sys.argv[2]} ({what}): worst relative L2 {worst:.2e}")
PY
}
latest() { echo "$1/$(cat "$1/latest")"; }

cd "$work"
prepare_kjv_shards

# Global batch 8 of micro-batches 2: 4 micro-steps on 1 rank, 2 per rank on 2 ranks. A
# constant schedule makes a run cut at step 3 identical to the first half of a 6-step run.
cat > tiny.yaml <<YAML
seed: 5
model: {vocab_size: 400, hidden: 32, layers: 2, heads: 4, kv_heads: 2, ffn: {hidden: 64}, max_seq_len: 64}
data: {train: train, valid: valid, seq_len: 32}
optim: {lr: 3.0e-3, grad_clip: 1.0}
schedule: {kind: constant, warmup_steps: 0}
train: {steps: 6, batch_size: 8, micro_batch_size: 2, log_every: 1, eval_every: 3, eval_batches: 5, ckpt_every: 3,
        keep_checkpoints: 3, threads: 1}
dist: {bucket_mb: 0.01}
YAML

run1 tiny.yaml --run-dir one
run2 tiny.yaml --run-dir two
run2 tiny.yaml --run-dir zero --set dist.shard_optimizer=true
compare "$(latest two)" "$(latest one)"
compare "$(latest zero)" "$(latest two)" optim
# Evaluation is sharded over the ranks (5 batches: 3 on rank 0, 2 on rank 1) and combined:
# the same scored tokens and, up to the models' float differences, the same loss.
/usr/bin/python3 - one/metrics.jsonl two/metrics.jsonl <<'PY' || fail "1-rank and 2-rank evaluations differ"
import json, sys
evals = [[r for r in map(json.loads, open(p)) if r.get("split") == "valid"] for p in sys.argv[1:]]
assert [r["step"] for r in evals[0]] == [3, 6] == [r["step"] for r in evals[1]], evals
for a, b in zip(*evals):
    assert a["tokens"] == b["tokens"] == 5 * 2 * 32, (a, b)
    assert abs(a["loss"] - b["loss"]) <= 1e-5 * abs(a["loss"]), (a, b)
print("ok: sharded evaluation", [(a["loss"], b["loss"]) for a, b in zip(*evals)])
PY

# Resume the 2-rank step-3 checkpoint on 1 rank and on 2 ranks.
for w in 1 2; do
  mkdir -p "resume$w/checkpoints"
  cp two/checkpoints/step_0000003.h5 "resume$w/checkpoints/"
  echo checkpoints/step_0000003.h5 > "resume$w/latest"
done
run1 tiny.yaml --run-dir resume1 --resume auto
run2 tiny.yaml --run-dir resume2 --resume auto
compare "$(latest resume1)" "$(latest two)"
compare "$(latest resume2)" "$(latest two)"
/usr/bin/python3 -c "import h5py,sys; sys.exit(0 if h5py.File('$(latest two)','r').attrs['world_size'] == 2 else 1)" \
  || fail "the 2-rank checkpoint should record world_size 2"

# Kimi Linear's pieces under data parallelism: KDA and MLA layers, MoE channel mixers whose
# router biases move by the loads summed over the ranks, and Muon, which orthogonalizes the
# full all-reduced gradient of each matrix on every rank (its state is replicated, not
# sharded): 2 ranks equal 1 rank, router biases included (/buffers).
cat > kimi.yaml <<YAML
seed: 5
model:
  vocab_size: 400
  hidden: 32
  layers: 4
  heads: 4
  kv_heads: 4
  max_seq_len: 64
  ffn: {kind: moe, hidden: 16, moe: {experts: 4, top_k: 2, shared_experts: 1, bias_update_rate: 0.01}}
  attention:
    kind: kda
    positions: none
    kda: {chunk: 16}
    mla: {kv_lora_rank: 8, nope_head_dim: 8, rope_head_dim: 4, v_head_dim: 8}
  layer_pattern: [kda, kda, kda, mla]
data: {train: train, valid: valid, seq_len: 32}
optim: {kind: muon, lr: 3.0e-3, grad_clip: 1.0}
schedule: {kind: constant, warmup_steps: 0}
train: {steps: 6, batch_size: 8, micro_batch_size: 2, log_every: 1, eval_every: 3, eval_batches: 5, ckpt_every: 3,
        keep_checkpoints: 3, threads: 1}
dist: {bucket_mb: 0.01}
YAML
run1 kimi.yaml --run-dir kimi1
run2 kimi.yaml --run-dir kimi2
compare "$(latest kimi2)" "$(latest kimi1)" optim
/usr/bin/python3 - "$(latest kimi1)" <<'PY' || fail "the router biases should have moved"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
names = []
f["buffers"].visit(lambda n: names.append(n) if n.endswith("e_score_correction_bias") else None)
assert len(names) == 4 and all(np.abs(np.asarray(f["buffers"][n])).max() > 0 for n in names), names
print("ok: router biases moved in", len(names), "MoE layers")
PY
if "$ranks" 2 "$linea" train kimi.yaml --run-dir kimi_zero --set dist.shard_optimizer=true --no-progress 2>>"$work/log"; then
  fail "muon with ZeRO-1 should be refused"
fi
grep -q "muon orthogonalizes whole matrices and cannot be sharded" "$work/log" || fail "no clear error for sharded muon"

if [[ $failures -gt 0 ]]; then
  echo "--- stderr of the runs:"; cat "$work/log"
  echo "$failures failure(s)"; exit 1
fi
echo "all distributed training checks passed"
