#!/usr/bin/env bash
# linea export / import from the command line: a trained decoder exported as a Hugging Face
# folder (config.json, model.safetensors, tokenizer.model) and imported back generates the
# same text, with the tokenizer the checkpoint now carries (the training shards moved away);
# a run with train.init_from starts from the imported weights (lr 0 keeps them); bad input
# exits 2 with one line and leaves what was there.
# Usage: hf_transfer_test.sh PATH/TO/linea
set -u
linea="$(realpath "$1")"
work=$(mktemp -d /tmp/linea_hf_XXXXXX)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/common.sh"


cd "$work"
prepare_kjv_shards
cat > tiny.yaml <<YAML
seed: 3
model: {vocab_size: 400, hidden: 32, layers: 2, heads: 4, kv_heads: 2, ffn: {kind: swiglu, hidden: 64}, max_seq_len: 64}
data: {train: train, valid: valid, seq_len: 32}
optim: {lr: 3.0e-3}
train: {steps: 20, batch_size: 8, micro_batch_size: 8, log_every: 10, eval_every: 0, ckpt_every: 0, threads: 1}
YAML
"$linea" train tiny.yaml --run-dir base --no-progress 2>base.err || fail "train: $(cat base.err)"

"$linea" export base --output hf >export.out 2>&1 || fail "export: $(cat export.out)"
for f in config.json model.safetensors tokenizer.model; do
  [[ -s hf/$f ]] && echo "ok: export wrote $f" || fail "export did not write hf/$f: $(ls hf)"
done
"$linea" import hf --output imported.h5 >import.out 2>&1 || fail "import: $(cat import.out)"
grep -q "llama model, 20 tensors, tokenizer tokenizer.model" import.out && echo "ok: $(head -1 import.out)" \
  || fail "import said: $(cat import.out)"

gen() { "$linea" generate "$1" --prompt "And God said" --max-new-tokens 12 --temperature 0 2>/dev/null; }
a=$(gen base)
mv train train.moved  # the imported checkpoint needs no shards: it carries its tokenizer
b=$(gen imported.h5)
mv train.moved train
[[ -n "$a" && "$a" == "$b" ]] && echo "ok: imported generates the same text: $b" || fail "generate: '$a' vs '$b'"

# train.init_from: with lr 0 one step leaves the imported weights as they were.
"$linea" train tiny.yaml --run-dir from_import --no-progress --set train.init_from=imported.h5 --set optim.lr=0 \
  --set train.steps=1 2>init.err || fail "init_from: $(cat init.err)"
grep -q "train.init_from imported.h5: loaded 20 tensors" init.err && echo "ok: init_from reported" || fail "init_from: $(cat init.err)"
/usr/bin/python3 - imported.h5 from_import/checkpoints <<'PY' && echo "ok: init_from run starts from the imported weights" || fail "init_from weights differ"
import glob, sys, h5py, numpy as np
with h5py.File(sys.argv[1]) as a, h5py.File(sorted(glob.glob(sys.argv[2] + "/*.h5"))[-1]) as b:
    names = list(a["model"].keys())
    assert len(names) == 20
    for n in names:
        assert np.array_equal(np.asarray(a["model"][n]), np.asarray(b["model"][n])), n
PY

# Bad input: one line, exit 2, nothing replaced.
expect_user_error "config.json: cannot read it" import train --output x.h5
expect_user_error "exists and is not an empty folder" export base --output hf
expect_user_error "export --dtype f64: expected f32, bf16 or f16" export base --output hf2 --dtype f64
[[ ! -e x.h5 && ! -e hf2 && -s hf/model.safetensors ]] && echo "ok: nothing written on failure" || fail "files left: $(ls)"
expect_user_error "train.init_from: " train tiny.yaml --run-dir wrong --no-progress --set train.init_from=imported.h5 \
  --set model.hidden=64
expect_user_error "train.init_from: expected a checkpoint path or null" train tiny.yaml --run-dir wrong --no-progress --set "train.init_from=''"

"$linea" export base --output hf_bf16 --dtype bf16 >/dev/null 2>&1 && grep -q '"torch_dtype": "bfloat16"' hf_bf16/config.json \
  && echo "ok: bf16 export" || fail "bf16 export"

[[ $failures -eq 0 ]] || { echo "$failures failure(s)"; exit 1; }
echo "all import and export checks passed"
