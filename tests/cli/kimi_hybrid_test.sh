#!/usr/bin/env bash
# Kimi Linear's hybrid from the command line on real text: KDA and MLA layers (3:1), MoE channel
# mixers and Muon train; the run's metrics carry the routers' loads; a resumed run ends with
# the same parameters, router biases and optimizer state as a straight one (bit for bit);
# `linea info` shows the layout; `linea generate` decodes deterministically from the KDA
# states and MLA's latent cache, and a batch of prompts gives each prompt's own continuation.
# Usage: kimi_hybrid_test.sh PATH/TO/linea
set -u
linea="$(realpath "$1")"
work=$(mktemp -d /tmp/linea_kimi_XXXXXX)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/common.sh"

cd "$work"
export LINEA_CACHE_DIR="$work/cache"
prepare_kjv_shards

cat > kimi.yaml <<YAML
seed: 5
model:
  vocab_size: 400
  hidden: 32
  layers: 4
  heads: 4
  kv_heads: 4
  max_seq_len: 48
  ffn: {kind: moe, hidden: 16, moe: {experts: 4, top_k: 2, shared_experts: 1, bias_update_rate: 0.01}}
  attention:
    kind: kda
    positions: none
    kda: {chunk: 16}
    mla: {kv_lora_rank: 8, nope_head_dim: 8, rope_head_dim: 4, v_head_dim: 8, qk_clip_tau: 30}
  layer_pattern: [kda, kda, kda, mla]
data: {train: train, valid: valid, seq_len: 32}
optim: {kind: muon, lr: 3.0e-3, no_decay: [norm, A_log, dt_bias]}
schedule: {kind: cosine, warmup_steps: 2}
train: {steps: 30, batch_size: 8, micro_batch_size: 4, log_every: 5, eval_every: 15, eval_batches: 2,
        ckpt_every: 15, keep_checkpoints: 2, threads: 1}
YAML

"$linea" train kimi.yaml --run-dir straight --no-progress 2>straight.err || fail "train: $(cat straight.err)"
"$linea" train kimi.yaml --run-dir resumed --resume straight/checkpoints/step_0000015.h5 --no-progress 2>resume.err \
  || fail "resume: $(cat resume.err)"
/usr/bin/python3 - straight resumed <<'PY' && echo "ok: resumed = straight (parameters, router biases, Muon state), bit for bit" || fail "resume is not bitwise"
import glob, json, sys, h5py, numpy as np
a, b = (sorted(glob.glob(d + "/checkpoints/*.h5"))[-1] for d in sys.argv[1:3])
with h5py.File(a) as fa, h5py.File(b) as fb:
    for g in ["model", "buffers", "optim"]:
        names = []
        fa[g].visit(lambda n: names.append(n) if isinstance(fa[g][n], h5py.Dataset) else None)
        assert names, g
        for n in names:
            assert np.array_equal(np.asarray(fa[g][n]), np.asarray(fb[g][n])), (g, n)
rows = [json.loads(l) for l in open(sys.argv[1] + "/metrics.jsonl")]
train = [r for r in rows if r.get("split") == "train"]
assert all("layers.0.moe_load_max_over_mean" in r["metrics"] and "layers.3.moe_load_3" in r["metrics"] for r in train), train[0]
assert all(r["metrics"]["layers.1.moe_dropped_tokens"] == 0 for r in train)
PY
info=$("$linea" info straight)
for want in "kda none | moe 16" "mla none | moe 16"; do
  [[ "$info" == *"$want"* ]] && echo "ok: info shows '$want'" || fail "info lacks '$want': $info"
done
# The recipe itself, counted without data, has the checkpoint's parameters; per token only
# top_k 2 of the 4 routed experts of every layer count.
params=$("$linea" info straight | sed -n 's/^parameters *\([0-9]*\) in.*/\1/p')
recipe_info=$("$linea" info kimi.yaml) || fail "info kimi.yaml"
[[ -n "$params" && "$recipe_info" == *"parameters     $params ("* && "$recipe_info" == *"kda none | moe 16"* ]] \
  && echo "ok: info kimi.yaml counts the checkpoint's $params parameters" || fail "info kimi.yaml: $recipe_info (checkpoint: $params)"
/usr/bin/python3 - "$recipe_info" <<'PY' && echo "ok: per token, half the routed experts" || fail "per-token count: $recipe_info"
import re, sys
text = sys.argv[1]
total = int(re.search(r"^parameters +(\d+)", text, re.M).group(1))
routed = int(re.search(r"^routed experts +(\d+)", text, re.M).group(1))
active = int(re.search(r"^per token +(\d+)", text, re.M).group(1))
assert active == total - routed // 2, (total, routed, active)
PY
gen() { "$linea" generate straight --max-new-tokens 10 --temperature 0 "$@" 2>/dev/null; }
a=$(gen --prompt "In the beginning God")
b=$(gen --prompt "In the beginning God")
[[ -n "$a" && "$a" == "$b" && "$a" == "In the beginning God"* ]] && echo "ok: greedy: $a" || fail "greedy: '$a' vs '$b'"
c=$(gen --prompt "And Abraham")
printf 'In the beginning God\nAnd Abraham\n' > prompts.txt
batch=$(gen --prompt-file prompts.txt)
[[ "$batch" == "$a"$'\n\n'"$c" ]] && echo "ok: batched prompts match single ones" || fail "batch: '$batch' vs '$a' / '$c'"

[[ $failures -eq 0 ]] || { echo "$failures failure(s)"; exit 1; }
echo "all Kimi hybrid checks passed"
