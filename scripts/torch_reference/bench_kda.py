#!/usr/bin/python3
"""PyTorch speed baseline for linea's chunked Kimi Delta Attention (specs/kimi_linear.md §2.1–2.2).

The chunkwise KDA algorithm written with torch ops, fp32 on the CPU, chunk C = 64:
  intra (all chunks of all batch×heads at once): G = within-chunk cumsum of g; the pairwise
    decay E[r,s,:] = exp(G_r − G_s) from the *difference*, masked to −inf where s > r before exp
    (§2.4: never exp(G_r)·exp(−G_s)); A_qk (incl. diagonal) and A_kk (strictly lower) from one
    shared E; (I + A_kk) w|u = (β k e^G | β v) by torch.linalg.solve_triangular (unit lower, fp32),
    i.e. w = T(β k e^G), u = T(β v) without materialising T.
  inter (a Python loop over the N = T/64 chunks): vn = u − w S; O = scale (q e^G) S + A_qk vn;
    S = diag(e^{G_last}) S + (k e^{G_last − G})ᵀ vn.
Backward by autograd (loss = Σ out ⊙ random weights). Inputs follow the spec: q, k L2-normalised,
g = logsigmoid(N(0,1)), β = sigmoid(N(0,1)), scale = K^-1/2, value dim = head dim.

Memory: the pairwise tensors ([B, H, N, C, K, C], r-i-s order so the GEMM needs no copy) are
built for all chunks at once (not per chunk: autograd keeps them for backward either way). Two of them are saved (E and E ⊙ k_s), about
2 · B·H·T·64·K·4 bytes, 4 GiB at B=1 H=8 T=16384 K=64, so peaks grow linearly in T but are large.

As bench_lightning.py, each measurement runs in its own process so that ru_maxrss reports that
measurement's peak; the printed peak is resident-set growth from before the inputs were made.

    bench_kda.py --lengths 512,1024 --batch 1 --heads 8 --head-dim 64 --threads 2
    bench_kda.py --check     # chunked vs the naive recurrence (§1.4) in float64, T = 130, K = 8, V = 6
"""
import argparse
import resource
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

CHUNK = 64


def kda_chunked(q, k, v, g, beta, scale=None, chunk=CHUNK):
    """Chunkwise KDA forward, differentiable. q, k, g [B, H, T, K]; v [B, H, T, V]; beta [B, H, T].

    Returns (o [B, H, T, V], final state [B, H, K, V]); the initial state is 0.
    """
    B, H, T, K = q.shape
    V = v.shape[-1]
    if scale is None:
        scale = K ** -0.5
    pad = (-T) % chunk
    if pad:  # padded rows: k = 0, β = 0 → they add nothing; g = 0 → G_last stays that of row T−1
        q, k, g = (F.pad(x, (0, 0, 0, pad)) for x in (q, k, g))
        v = F.pad(v, (0, 0, 0, pad))
        beta = F.pad(beta, (0, pad))
    N = (T + pad) // chunk
    C = chunk
    q, k, g = (x.reshape(B, H, N, C, K) for x in (q, k, g))
    v = v.reshape(B, H, N, C, V)
    beta = beta.reshape(B, H, N, C, 1)

    G = g.cumsum(dim=3)                                        # [B,H,N,C,K], non-increasing
    causal = torch.ones(C, C, dtype=torch.bool, device=q.device).tril()   # s <= r
    GT = G.transpose(-1, -2)                                   # [B,H,N,K,C]
    diff = G.unsqueeze(-1) - GT.unsqueeze(3)                   # [B,H,N,C(r),K,C(s)]: G_r[i] - G_s[i]
    diff = diff.masked_fill(~causal[:, None, :], float("-inf"))   # mask BEFORE exp (§2.4)
    E = diff.exp()                                             # exp(G_r - G_s) for s <= r, else 0
    P = E * k.transpose(-1, -2).unsqueeze(3)                   # [.., r, i, s] = E_rs[i] k_s[i]
    X = torch.stack((q * scale, k * beta), dim=4)              # [B,H,N,C(r),2,K]
    A = X @ P                                                  # [B,H,N,C(r),2,C(s)]
    A_qk = A[..., 0, :]                                        # lower incl. diagonal (E = 0 above)
    A_kk = A[..., 1, :].tril(-1)                               # strictly lower
    eye = torch.eye(C, dtype=q.dtype, device=q.device)
    eG = G.exp()
    rhs = torch.cat((beta * k * eG, beta * v), dim=-1)         # [B,H,N,C,K+V]
    wu = torch.linalg.solve_triangular(eye + A_kk, rhs, upper=False, unitriangular=True)
    w, u = wu[..., :K], wu[..., K:]
    qg = q * eG * scale                                        # scale (q ⊙ e^G)
    G_last = G[..., -1:, :]                                    # [B,H,N,1,K]
    kg = k * (G_last - G).exp()                                # k ⊙ e^{G_last - G}
    decay = G_last.squeeze(-2).exp().unsqueeze(-1)             # [B,H,N,K,1]

    # unbind (one stack in backward), not x[:, :, n] (a full-size zero-filled gradient per chunk: O(N²))
    per_chunk = zip(*(x.unbind(2) for x in (u, w, qg, A_qk, kg, decay)))
    S = q.new_zeros(B, H, K, V)
    out = []
    for u_n, w_n, qg_n, A_n, kg_n, decay_n in per_chunk:
        vn = u_n - w_n @ S
        out.append(qg_n @ S + A_n @ vn)
        S = decay_n * S + kg_n.transpose(-1, -2) @ vn
    o = torch.cat(out, dim=2)[:, :, :T]
    return o, S


def kda_naive(q, k, v, g, beta, scale=None):
    """Token-by-token recurrence of §1.4 (the oracle). Same shapes as kda_chunked."""
    B, H, T, K = q.shape
    if scale is None:
        scale = K ** -0.5
    S = q.new_zeros(B, H, K, v.shape[-1])
    out = []
    for t in range(T):
        S = S * g[:, :, t].exp().unsqueeze(-1)
        p = (S * k[:, :, t].unsqueeze(-1)).sum(2)                       # Sᵀ k   [B,H,V]
        u = beta[:, :, t, None] * (v[:, :, t] - p)
        S = S + k[:, :, t].unsqueeze(-1) * u.unsqueeze(-2)              # S += k uᵀ
        out.append((S * (scale * q[:, :, t]).unsqueeze(-1)).sum(2))     # scale Sᵀ q
    return torch.stack(out, dim=2), S


def make_inputs(B, H, T, K, V, gen, dtype=torch.float32, gate_mult=1.0):
    q = F.normalize(torch.randn(B, H, T, K, generator=gen, dtype=dtype), dim=-1)
    k = F.normalize(torch.randn(B, H, T, K, generator=gen, dtype=dtype), dim=-1)
    v = torch.randn(B, H, T, V, generator=gen, dtype=dtype)
    g = F.logsigmoid(torch.randn(B, H, T, K, generator=gen, dtype=dtype)) * gate_mult
    beta = torch.sigmoid(torch.randn(B, H, T, generator=gen, dtype=dtype))
    return q, k, v, g, beta


def check():
    gen = torch.Generator().manual_seed(3)
    B, H, T, K, V = 2, 3, 130, 8, 6
    ok = True
    # 1. float64, the spec's gate: chunked vs naive, outputs and final state, and gradients.
    ins = [x.requires_grad_() for x in make_inputs(B, H, T, K, V, gen, torch.float64)]
    wgt = torch.randn(B, H, T, V, generator=gen, dtype=torch.float64)
    res = []
    for fn in (kda_chunked, kda_naive):
        for x in ins:
            x.grad = None
        o, s = fn(*ins)
        (o * wgt).sum().backward()
        res.append((o.detach(), s.detach(), [x.grad.clone() for x in ins]))
    d_o = (res[0][0] - res[1][0]).abs().max().item()
    d_s = (res[0][1] - res[1][1]).abs().max().item()
    d_g = max((a - b).abs().max().item() for a, b in zip(res[0][2], res[1][2]))
    print(f"float64 T={T} K={K} V={V} (2 chunks + ragged 2): max|o diff| {d_o:.3e}  "
          f"max|state diff| {d_s:.3e}  max|grad diff| (q,k,v,g,beta) {d_g:.3e}")
    ok &= max(d_o, d_s, d_g) < 1e-10
    # 2. §2.4 stress: gate ×50 (G reaches hundreds of nats inside a chunk, where e^{-G_s} would
    #    overflow fp32); fp32 chunked vs float64 naive must stay finite and close.
    q, k, v, g, beta = make_inputs(B, H, T, K, V, gen, torch.float64, gate_mult=50.0)
    print(f"stress gate x50: min within-chunk G = {g[:, :, :64].cumsum(2).min().item():.1f} nats")
    ins32 = [x.float().requires_grad_() for x in (q, k, v, g, beta)]
    o32, s32 = kda_chunked(*ins32)
    (o32 * wgt.float()).sum().backward()
    finite = all(torch.isfinite(x.grad).all().item() for x in ins32) and torch.isfinite(o32).all().item()
    o64, s64 = kda_naive(q, k, v, g, beta)
    d32 = (o32.detach().double() - o64).abs().max().item()
    print(f"fp32 chunked vs f64 naive, gate x50: max|o diff| {d32:.3e}, outputs and grads finite: {finite}")
    ok &= finite and d32 < 1e-4
    print("check", "PASSED" if ok else "FAILED")
    return ok


def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def measure(kind, T, args):
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(7)
    B, H, D = args.batch, args.heads, args.head_dim
    before = rss_mib()
    ins = [x.requires_grad_() for x in make_inputs(B, H, T, D, D, gen)]
    wgt = torch.rand(B, H, T, D, generator=gen) * 2 - 1

    def once():
        for x in ins:
            x.grad = None
        (kda_chunked(*ins)[0] * wgt).sum().backward()

    once()
    repeats = max(1, 8192 // T)
    t0 = time.perf_counter()
    for _ in range(repeats):
        once()
    ms = 1e3 * (time.perf_counter() - t0) / repeats
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
    print(f"{kind:<13} {T:7d} {ms:10.2f} {B * T / (ms / 1e3):12.0f} {peak:10.1f}", flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lengths", default="512,1024,2048,4096,8192,16384")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--head-dim", type=int, default=64)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--check", action="store_true", help="chunked vs naive recurrence, float64, then exit")
    p.add_argument("--one", nargs=2, metavar=("KIND", "T"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.check:
        torch.set_num_threads(args.threads)
        sys.exit(0 if check() else 1)
    if args.one:
        measure(args.one[0], int(args.one[1]), args)
        return
    print(f"torch {torch.__version__} KDA chunked (C={CHUNK}): B={args.batch} H={args.heads} K=V={args.head_dim} "
          f"f32 cpu, {args.threads} threads; forward + backward (autograd), "
          f"peak = resident-set growth incl. inputs")
    print(f"{'kernel':<13} {'T':>7} {'ms':>10} {'tokens/s':>12} {'peak MiB':>10}", flush=True)
    common = ["--batch", str(args.batch), "--heads", str(args.heads), "--head-dim", str(args.head_dim),
              "--threads", str(args.threads)]
    for T in (int(x) for x in args.lengths.split(",")):
        subprocess.run([sys.executable, __file__, "--one", "torch_chunked", str(T)] + common, check=True)


if __name__ == "__main__":
    main()
