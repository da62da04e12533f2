#!/usr/bin/python3
"""PyTorch side of scripts/bench_linear_attention.sh.

Lightning Attention-2's blockwise algorithm (specs/transnormer.md §3.3) written with torch
ops: inside a block of 64 rows the left product with the decay mask, across blocks the
right product through a [D, D] state; backward by autograd through the block loop. Also
eager causal softmax attention (torch 1.13, Debian's, has no fused scaled_dot_product_attention),
which materializes [T, T] scores and is therefore run up to T = 4096 only. Each
measurement runs in its own process so that ru_maxrss, a high-water mark, reports that
measurement's peak: the printed peak is the growth of the resident set from before the
inputs were made, so inputs and gradients count as they do in linea's allocator peak.

    bench_lightning.py --lengths 512,1024 --batch 1 --heads 8 --head-dim 64 --threads 2
"""
import argparse
import math
import resource
import subprocess
import sys
import time

import torch

BLOCK = 64
EAGER_MAX_T = 4096  # eager softmax keeps several [H, T, T] tensors for backward


def tnl_layer0_decay(heads):
    """s_h of layer 0 of a 2-layer model: ALiBi slopes times (1 + 1e-5) (spec §2.3)."""
    def slopes(n):
        return [2 ** (-8 * (h + 1) / n) for h in range(n)]
    p = 2 ** math.floor(math.log2(heads))
    s = slopes(p) + slopes(2 * p)[0::2][: heads - p]
    return torch.tensor([x * (1 + 1e-5) for x in s], dtype=torch.float32)


def lightning_blockwise(q, k, v, s):
    """o_i = Σ_{j<=i} λ^(i-j) (q_i k_j) v_j, blockwise; q, k, v [B, H, T, D], s [H]."""
    B, H, T, D = q.shape
    out = []
    state = q.new_zeros(B, H, D, v.shape[-1])
    idx = torch.arange(BLOCK, dtype=torch.float32)
    for a0 in range(0, T, BLOCK):
        m = min(BLOCK, T - a0)
        qb, kb, vb = q[:, :, a0:a0 + m], k[:, :, a0:a0 + m], v[:, :, a0:a0 + m]
        i = idx[:m]
        diff = i[:, None] - i[None, :]
        mask = torch.where(diff >= 0, torch.exp(-s[:, None, None] * diff.clamp(min=0)), torch.zeros(()))
        q_decay = torch.exp(-s[:, None] * (i + 1))[:, :, None]          # λ^(a+1)
        k_decay = torch.exp(-s[:, None] * (m - 1 - i))[:, :, None]      # λ^(m-1-c)
        intra = (qb @ kb.transpose(-1, -2) * mask) @ vb
        inter = (qb * q_decay) @ state
        out.append(intra + inter)
        state = torch.exp(-s * m)[:, None, None] * state + (kb * k_decay).transpose(-1, -2) @ vb
    return torch.cat(out, dim=2)


def softmax_eager(q, k, v):
    T = q.shape[2]
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    future = torch.ones(T, T, dtype=torch.bool).triu(1)
    return torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1) @ v


def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def measure(kind, T, args):
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(7)
    shape = (args.batch, args.heads, T, args.head_dim)
    s = tnl_layer0_decay(args.heads)
    fn = {"torch-la2": lambda q, k, v: lightning_blockwise(q, k, v, s), "torch-soft": softmax_eager}[kind]
    before = rss_mib()
    q, k, v = ((torch.rand(shape, generator=gen) * 0.2 - 0.1).requires_grad_() for _ in range(3))
    g = torch.rand(shape, generator=gen) * 2 - 1

    def once():
        for x in (q, k, v):
            x.grad = None
        (fn(q, k, v) * g).sum().backward()

    once()
    repeats = max(1, 8192 // T)
    t0 = time.perf_counter()
    for _ in range(repeats):
        once()
    ms = 1e3 * (time.perf_counter() - t0) / repeats
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
    print(f"{kind:<10} {T:7d} {ms:10.2f} {args.batch * T / (ms / 1e3):12.0f} {peak:10.1f}", flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lengths", default="512,1024,2048,4096,8192,16384")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--head-dim", type=int, default=64)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--one", nargs=2, metavar=("KIND", "T"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        measure(args.one[0], int(args.one[1]), args)
        return
    print(f"torch {torch.__version__} attention: B={args.batch} H={args.heads} D={args.head_dim} f32 cpu, "
          f"{args.threads} threads; forward + backward (autograd), peak = resident-set growth incl. inputs")
    print(f"{'kernel':<10} {'T':>7} {'ms':>10} {'tokens/s':>12} {'peak MiB':>10}", flush=True)
    common = ["--batch", str(args.batch), "--heads", str(args.heads), "--head-dim", str(args.head_dim),
              "--threads", str(args.threads)]
    for T in (int(x) for x in args.lengths.split(",")):
        for kind in ("torch-la2", "torch-soft") if T <= EAGER_MAX_T else ("torch-la2",):
            subprocess.run([sys.executable, __file__, "--one", kind, str(T)] + common, check=True)


if __name__ == "__main__":
    main()
