"""Damages copies of a checkpoint and of a token shard, as a disk or a bad copy would, and
checks that linea names the damage and never crashes, hangs or reads it silently.

Usage: damage_files.py LINEA CHECKPOINT SHARD VALID_DIR WORK_DIR

Four kinds of damage at seeded random positions, CASES of each per file: the file
truncated; 1-50 random bytes flipped; a run of up to 4 KiB zeroed; the second half
overwritten with random bytes. Every case runs `linea info --verify` on the damaged copy:

- the bytes of a dataset's stored elements are covered by its xxh64 (a tensor whole, a
  stream per block): damage touching only them exits 2 naming one of those datasets;
- every other byte is HDF5 metadata, covered by HDF5's own checksums, or unused (free space
  between metadata blocks, the unfilled end of a stream's last chunk): damage there exits
  2, or passes only if everything h5py reads from the file (every dataset and attribute)
  is unchanged, which shows the bytes were unused;
- a truncated file always exits 2; no case may end by a signal, another exit code or a hang.

The first flipped-bytes or zeroed cases of each file that touch only model weights or
token ids also run `linea eval` on the damage, which must stop with exit 2 naming the
dataset instead of scoring it.
"""
import concurrent.futures
import os
import random
import subprocess
import sys

import h5py
import numpy as np

CASES = 13  # per kind and file: 4 kinds x 2 files x 13 = 104 cases
EVAL_CASES = 2  # cases per file that `linea eval` reads too
TIMEOUT_S = 60
KINDS = ["truncated", "flipped", "zeroed", "second half random"]


def data_extents(path):
    """(start, end, dataset) of the bytes holding each dataset's stored elements."""
    extents = []
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if not isinstance(obj, h5py.Dataset) or obj.id.get_storage_size() == 0:
                return
            if obj.chunks is None:
                start = obj.id.get_offset()
                extents.append((start, start + obj.id.get_storage_size(), "/" + name))
                return
            # Chunks are allocated whole; the end of the last one past the elements is unused.
            used = obj.shape[0] * obj.dtype.itemsize
            for i in range(obj.id.get_num_chunks()):
                chunk = obj.id.get_chunk_info(i)
                first = chunk.chunk_offset[0] * obj.dtype.itemsize
                extents.append((chunk.byte_offset, chunk.byte_offset + min(chunk.size, used - first), "/" + name))
        f.visititems(visit)
    return sorted(extents)


def contents(path):
    """Everything h5py reads from a file: every attribute and every dataset's values (None
    when h5py cannot read it)."""
    out = {}
    try:
        f = h5py.File(path, "r")
    except OSError:
        return None
    with f:
        out["/@"] = sorted((k, repr(v)) for k, v in f.attrs.items())
        def visit(name, obj):
            out["/" + name + "@"] = sorted((k, repr(v)) for k, v in obj.attrs.items())
            if isinstance(obj, h5py.Dataset):
                out["/" + name] = obj[()].tobytes() if obj.shape != () else repr(obj[()])
        try:
            f.visititems(visit)
        except (OSError, KeyError, RuntimeError):
            return None
    return out


def damage(data, kind, rng):
    """The damaged bytes and the sorted positions changed (truncation: every byte cut off)."""
    n = len(data)
    if kind == "truncated":
        cut = rng.randrange(1, n)
        return data[:cut], np.arange(cut, n)
    out = bytearray(data)
    if kind == "flipped":
        for pos in rng.sample(range(n), rng.randint(1, 50)):
            out[pos] ^= rng.randrange(1, 256)
    elif kind == "zeroed":
        start = rng.randrange(n)
        length = rng.randint(1, 4096)
        out[start:start + length] = bytes(len(out[start:start + length]))
    else:
        half = n // 2
        out[half:] = rng.randbytes(n - half)
    return bytes(out), np.flatnonzero(np.frombuffer(bytes(out), np.uint8) != np.frombuffer(data, np.uint8))


def in_range(changed, start, end):
    """How many of the sorted positions `changed` lie in [start, end)."""
    return int(np.searchsorted(changed, end) - np.searchsorted(changed, start))


def run(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
        return p.returncode, p.stderr
    except subprocess.TimeoutExpired:
        return "hang", ""


def check(linea, case):
    """(outcome, problem or None) of one damaged file."""
    rc, err = run([linea, "info", "--verify", case["path"]])
    changed, touched, only_data = case["changed"], case["touched"], case["only_data"]
    if rc not in (0, 2):
        return f"exit {rc}", f"exit {rc}"
    if changed == 0:  # zeroed bytes that were zero already
        return "unchanged", None
    if case["kind"] == "truncated":  # refused whole on open: what follows the cut is gone
        return "exit 2", None if rc == 2 and "truncated" in err else f"exit {rc}: {err.strip()}"
    if rc == 0:
        return "passed, unused bytes", None if contents(case["path"]) == case["want"] else "passed with its contents changed"
    if only_data and not any(f": {name}: " in err for name in touched):
        return "exit 2", f"exit 2 without naming {' or '.join(touched)}: {err.strip()}"
    if case["eval"]:  # the ordinary read paths stop on it too: eval loads the weights or reads the tokens
        erc, eerr = run([linea, "eval", *case["eval"]])
        if erc != 2 or not any(f": {name}: damaged data" in eerr for name in touched):
            return "exit 2", f"eval: exit {erc}: {eerr.strip()[-300:]}"
        return "exit 2, eval too", None
    return "exit 2", None


def main():
    linea, checkpoint, shard, valid, work = sys.argv[1:6]
    rng = random.Random(12)
    cases = []
    for label, original in [("checkpoint", checkpoint), ("shard", shard)]:
        data = open(original, "rb").read()
        extents = data_extents(original)
        data_bytes = sum(end - start for start, end, _ in extents)
        print(f"{label} {original}: {len(data)} bytes, {data_bytes} in dataset elements (xxh64), "
              f"{len(data) - data_bytes} in HDF5 metadata (HDF5 checksums) or unused")
        want = contents(original)
        evals = 0
        for kind in KINDS:
            for n in range(CASES):
                damaged, changed = damage(data, kind, rng)
                folder = os.path.join(work, f"{label}_{kind.replace(' ', '_')}_{n}")
                os.makedirs(folder)
                path = os.path.join(folder, os.path.basename(original))
                open(path, "wb").write(damaged)
                touched = sorted({name for start, end, name in extents if in_range(changed, start, end)})
                only_data = sum(in_range(changed, start, end) for start, end, _ in extents) == len(changed)
                case = dict(label=label, kind=kind, n=n, path=path, changed=len(changed), touched=touched,
                            only_data=only_data, want=want, eval=None)
                read_by_eval = all(t.startswith("/model/") for t in touched) if label == "checkpoint" \
                    else touched == ["/tokens"]
                if kind in ("flipped", "zeroed") and only_data and touched and read_by_eval and evals < EVAL_CASES:
                    case["eval"] = [path, "--data", valid] if label == "checkpoint" else [checkpoint, "--data", folder]
                    evals += 1
                cases.append(case)
    # Two at a time: each case is a process start or two, most of its time.
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda c: check(linea, c), cases))
    failures, tally = 0, {}
    for case, (outcome, problem) in zip(cases, results):
        what = (f"{case['label']} {case['kind']} #{case['n']}: {case['changed']} byte(s) changed, in "
                f"{', '.join(case['touched']) or 'no dataset'}")
        key = (case["label"], case["kind"], outcome)
        tally[key] = tally.get(key, 0) + 1
        failures += problem is not None
        print(f"FAIL: {what}: {problem}" if problem else f"ok: {what}: {outcome}")
    for (label, kind, outcome), n in sorted(tally.items()):
        print(f"  {label}, {kind}: {n} {outcome}")
    print(f"{failures} failure(s) in {len(cases)} cases")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
