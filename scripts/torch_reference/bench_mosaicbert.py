#!/usr/bin/python3
"""PyTorch MLM training throughput of the MosaicBERT encoder a linea recipe describes, for
scripts/bench_mosaicbert.sh: the same model (forward_loss of mosaicbert.py), float32, AdamW,
on the batch `linea bench encoder --save-batch` wrote, so both frameworks see identical
lengths and masks. Two layouts:
  mosaic  MosaicBERT's own PyTorch path: dense ops on the real tokens, attention re-padded
          to [B, heads, T, T] with the ALiBi + key-mask bias (bert_layers.py without triton);
  padded  every op on all B x T rows (HF BERT's layout), same bias.

    bench_mosaicbert.py RECIPE.yaml BATCH.h5 THREADS STEPS [NAME]

MFU uses the useful FLOPs per real token and the GEMM peak linea measured (both stored in
BATCH.h5 under /bench), so it is comparable with linea's line.
"""
import os
import resource
import sys
import time

import h5py
import numpy as np
import torch
import yaml

from mosaicbert import forward_loss


def parameters(cfg):
    m = cfg["model"]
    H, V, I = m["hidden"], m["vocab_size"], m["ffn"]["hidden"]
    shapes = {"embeddings.word_embeddings.weight": (V, H),
              "embeddings.token_type_embeddings.weight": (m.get("type_vocab_size", 2), H),
              "embeddings.norm.weight": (H,), "embeddings.norm.bias": (H,)}
    for i in range(m["layers"]):
        pre = f"layers.{i}."
        shapes.update({pre + "attention.Wqkv.weight": (3 * H, H), pre + "attention.Wqkv.bias": (3 * H,),
                       pre + "attention.out_proj.weight": (H, H), pre + "attention.out_proj.bias": (H,),
                       pre + "attention_norm.weight": (H,), pre + "attention_norm.bias": (H,),
                       pre + "mlp.gated_layers.weight": (2 * I, H), pre + "mlp.wo.weight": (H, I),
                       pre + "mlp.wo.bias": (H,), pre + "mlp_norm.weight": (H,), pre + "mlp_norm.bias": (H,)})
    shapes.update({"mlm_head.dense.weight": (H, H), "mlm_head.dense.bias": (H,), "mlm_head.norm.weight": (H,),
                   "mlm_head.norm.bias": (H,), "mlm_head.decoder_bias": (V,)})
    params = {}
    for name, shape in shapes.items():
        if name.endswith("norm.weight"):
            t = torch.ones(shape)
        elif len(shape) == 1:
            t = torch.zeros(shape)
        else:
            t = torch.randn(shape) * m.get("init_std", 0.02)
        params[name] = t.requires_grad_()
    return params


def main():
    recipe, batch_path, threads, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    with open(recipe) as f:
        cfg = yaml.safe_load(f)
    with h5py.File(batch_path, "r") as f:
        read = lambda k: torch.tensor(np.asarray(f[k], dtype=np.int64))  # noqa: E731
        ids, mask, types, labels = read("input_ids"), read("attention_mask"), read("token_type_ids"), read("labels")
        peak = float(np.asarray(f["bench/gemm_peak_flops"])[0])
        flops_per_token = float(np.asarray(f["bench/flops_per_token"])[0])
    B, T = ids.shape
    real = int(mask.sum())
    o = cfg["optim"]
    name = os.path.splitext(os.path.basename(sys.argv[5] if len(sys.argv) > 5 else recipe))[0]
    # As linea's bench: both layouts side by side, timed steps alternating, median per layout.
    runs = {}
    for layout in ("mosaic", "padded"):
        torch.manual_seed(0)
        params = parameters(cfg)
        opt = torch.optim.AdamW(params.values(), lr=1e-4, betas=tuple(o["betas"]), eps=o["eps"],
                                weight_decay=o["weight_decay"])
        runs[layout] = (params, opt, [])

    def step(layout):
        params, opt, _ = runs[layout]
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = forward_loss(params, cfg, ids, mask, labels, types, padded=layout == "padded")
        loss.backward()
        opt.step()
        return time.perf_counter() - t0

    for layout in runs:
        step(layout)  # warm-up
    for _ in range(steps):
        for layout, (_, _, secs) in runs.items():
            secs.append(step(layout))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for layout, (params, _, secs) in runs.items():
        sec = sorted(secs)[len(secs) // 2]
        n = sum(p.numel() for p in params.values())
        tps = real / sec
        print(f"pytorch {name:<14} {layout:<8} params {n / 1e6:6.1f}M  B={B} T={T} fill {100 * real / (B * T):4.1f}% "
              f"threads={threads}  {tps:9.0f} tokens/s  {1e3 * sec:8.1f} ms/step  "
              f"MFU {100 * tps * flops_per_token / peak:5.1f}%  process peak RSS {peak_mib:.0f} MiB  "
              f"(torch {torch.__version__})", flush=True)


if __name__ == "__main__":
    main()
