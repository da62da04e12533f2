#!/usr/bin/python3
"""PyTorch training throughput of the decoder a linea recipe describes, for
scripts/bench_decoder.sh: the same model (forward_loss of decoder.py), float32, AdamW,
gradient clipping, the recipe's micro batch and sequence length, random token ids.

    bench_decoder.py RECIPE.yaml THREADS STEPS
"""
import resource
import sys
import time

import torch
import yaml

from decoder import forward_loss


def parameters(cfg):
    m = cfg["model"]
    h, v, f = m["hidden"], m["vocab_size"], m["ffn"]["hidden"]
    d = h // m["heads"]
    kv = m.get("kv_heads", m["heads"]) * d
    shapes = {"embed_tokens.weight": (v, h), "norm.weight": (h,)}
    for i in range(m["layers"]):
        pre = f"layers.{i}."
        shapes.update({pre + "input_layernorm.weight": (h,), pre + "post_attention_layernorm.weight": (h,),
                       pre + "self_attn.q_proj.weight": (h, h), pre + "self_attn.k_proj.weight": (kv, h),
                       pre + "self_attn.v_proj.weight": (kv, h), pre + "self_attn.o_proj.weight": (h, h),
                       pre + "mlp.gate_proj.weight": (f, h), pre + "mlp.up_proj.weight": (f, h),
                       pre + "mlp.down_proj.weight": (h, f)})
    if not m.get("tie_embeddings", True):
        shapes["lm_head.weight"] = (v, h)
    params = {}
    for name, shape in shapes.items():
        t = torch.ones(shape) if name.endswith("norm.weight") else torch.randn(shape) * 0.02
        params[name] = t.requires_grad_()
    return params


def main():
    recipe, threads, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    with open(recipe) as f:
        cfg = yaml.safe_load(f)
    cfg["model"].setdefault("kv_heads", cfg["model"]["heads"])
    cfg["model"].setdefault("norm", {"eps": 1e-5})
    cfg["model"].setdefault("attention", {})
    B, T = cfg["train"]["micro_batch_size"], cfg["data"]["seq_len"]
    params = parameters(cfg)
    opt = torch.optim.AdamW(params.values(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)
    tokens = torch.randint(0, cfg["model"]["vocab_size"], (B, T + 1))
    inputs, targets = tokens[:, :-1], tokens[:, 1:]

    def step():
        opt.zero_grad(set_to_none=True)
        loss = forward_loss(params, cfg, inputs, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params.values(), 1.0)
        opt.step()

    step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    secs = time.perf_counter() - t0
    n = sum(p.numel() for p in params.values())
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"pytorch {recipe:<28} params {n / 1e6:6.1f}M  B={B} T={T} threads={threads}  "
          f"{B * T * steps / secs:9.0f} tokens/s  {1e3 * secs / steps:6.1f} ms/step  "
          f"(torch {torch.__version__})  peak RSS {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
