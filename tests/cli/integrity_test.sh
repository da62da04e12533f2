#!/usr/bin/env bash
# Damaged checkpoints and token shards (tests/cli/damage_files.py: 104 cases of truncation,
# flipped bytes, zeroed runs and random second halves) are named and never read silently;
# files without checksums (an older linea) still read, saying so once.
# Usage: integrity_test.sh PATH/TO/linea
set -u
linea="$(realpath "$1")"
here="$(dirname "$(realpath "${BASH_SOURCE[0]}")")"
work=$(mktemp -d /tmp/linea_integrity_XXXXXX)
trap 'rm -rf "$work"' EXIT
source "$here/common.sh"

cd "$work"
export LINEA_CACHE_DIR="$work/cache"
prepare_kjv_shards
cat > tiny.yaml <<YAML
seed: 3
model: {vocab_size: 400, hidden: 32, layers: 2, heads: 4, kv_heads: 4, ffn: {hidden: 64}, max_seq_len: 64}
data: {train: train, valid: valid, seq_len: 32}
train: {steps: 2, batch_size: 8, micro_batch_size: 8, log_every: 1, eval_every: 0, ckpt_every: 2, threads: 1}
YAML
"$linea" train tiny.yaml --run-dir run --no-progress 2>/dev/null || fail "train"
checkpoint="run/$(cat run/latest)"

# Intact files verify, naming what was read.
out=$("$linea" info --verify run) && [[ "$out" == *"intact"*"every checksum matches"* ]] \
  && echo "ok: $out" || fail "info --verify run: $out"
out=$("$linea" info --verify train) && [[ "$out" == *"shard_00000.h5: intact"* ]] \
  && echo "ok: $out" || fail "info --verify train: $out"

# Files as an older linea wrote them: HDF5's default format, no checksum attributes.
/usr/bin/python3 - "$checkpoint" old/checkpoint.h5 valid/shard_00000.h5 old_valid/shard_00000.h5 <<'PY' || fail "strip checksums"
import h5py, os, sys
def strip(src, dst):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with h5py.File(src, "r") as a, h5py.File(dst, "w") as b:
        def copy_attrs(x, y):
            for k, v in x.attrs.items():
                if k not in ("checksum", "xxh64", "xxh64_block"): y.attrs[k] = v
        copy_attrs(a, b)
        def visit(name, obj):
            if name.endswith("_xxh64"): return
            if isinstance(obj, h5py.Group): copy_attrs(obj, b.require_group(name))
            else:
                b.create_dataset(name, data=obj[()], chunks=obj.chunks, maxshape=obj.maxshape)
                copy_attrs(obj, b[name])
        a.visititems(visit)
strip(sys.argv[1], sys.argv[2]); strip(sys.argv[3], sys.argv[4])
PY
out=$("$linea" info --verify old/checkpoint.h5) && [[ "$out" == *"no checksums"* ]] \
  && echo "ok: $out" || fail "info --verify of an old checkpoint: $out"
"$linea" eval old/checkpoint.h5 --data old_valid >/dev/null 2>old.err || fail "eval of an old checkpoint: $(cat old.err)"
n=$(grep -c "has no checksums" old.err)
[[ $n -eq 2 ]] && grep -q "said once for all checkpoints" old.err && grep -q "said once for all token shards" old.err \
  && echo "ok: an old checkpoint and old shards evaluate, each kind said once" || fail "old files warned $n times: $(cat old.err)"

/usr/bin/python3 "$here/damage_files.py" "$linea" "$checkpoint" train/shard_00000.h5 valid "$work" \
  || failures=$((failures + 1))

echo "$failures failure(s)"
exit $((failures > 0))
