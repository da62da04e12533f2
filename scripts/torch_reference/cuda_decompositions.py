#!/usr/bin/python3
"""Checks, in f64 against PyTorch autograd of each op's definition, the decompositions the CUDA
kernels of the sequence mixers are built on (the kernels themselves need a GPU; these checks
need only python3-torch). Each emulates its kernel's loop structure in plain torch:

1. core/cuda/linear_sweep.cu + lightning_attention.cu: one decayed linear-attention sweep in
   32-row tiles, forward or reverse in time, with exponent offset e, serves Lightning's
   forward and all of dq, dk, dv, dS0 through the role table (causal with decay, non-causal).
2. core/cuda/kda.cu: the KDA token recurrence per value column, its backward from 64-token
   checkpoints with the per-column reverse step (delta rule on and off).
3. core/cuda/hedgehog_window.cu: the hybrid window + linear attention as an inclusive linear
   sweep minus the window's own linear terms, and its backward through the same split, for
   both window layouts, windows 0/1/3/5 and lengths 1/4/11.

Exit 0 when every error is below 1e-12, 1 otherwise, 77 without torch (ctest skips).
"""
import sys

try:
    import torch
except ImportError:
    print("python3-torch is not installed: skipped")
    sys.exit(77)

torch.manual_seed(0)
F64 = torch.float64
TILE = 32
failures = []


def check(name, pairs, tol=1e-12):
    err = max(float((a - (b if b is not None else torch.zeros_like(a))).abs().max()) for a, b in pairs)
    print(f"{name}: max error {err:.1e}")
    if not err < tol:
        failures.append(name)


# 1. The sweep: out'_a = sum_{c<=a} lam^(a-c) (q'_a.k'_c) v'_c + lam^(a+e) q'_a X per tile of m
#    rows, X <- lam^m X + sum_c lam^(m-c-e) k'_c^T v'_c; non-causal: X = X0 + K'^T V', out' = Q' X.
def sweep(q, k, v, x0, lam, reverse, e, causal):
    T = q.shape[0]
    X = x0.clone()
    out = torch.zeros(T, v.shape[1], dtype=F64)
    order = list(range(T))[::-1] if reverse else list(range(T))
    if not causal:
        X = X + k.T @ v
        return q @ X, X
    for a0 in range(0, T, TILE):
        rows = order[a0:a0 + TILE]
        m = len(rows)
        Q, K, V = q[rows], k[rows], v[rows]
        mask = torch.tensor([[lam ** (r - c) if c <= r else 0.0 for c in range(m)] for r in range(m)], dtype=F64)
        qdec = torch.tensor([lam ** (r + e) for r in range(m)], dtype=F64)[:, None]
        out[rows] = ((Q @ K.T) * mask) @ V + qdec * (Q @ X)
        kdec = torch.tensor([lam ** (m - c - e) for c in range(m)], dtype=F64)[:, None]
        X = lam ** m * X + (kdec * K).T @ V
    return out, X


for causal in (True, False):
    for T in (1, 31, 32, 33, 100):
        lam = 0.9 if causal else 1.0
        q, k = torch.randn(T, 5, dtype=F64, requires_grad=True), torch.randn(T, 5, dtype=F64, requires_grad=True)
        v, S0 = torch.randn(T, 7, dtype=F64, requires_grad=True), torch.randn(5, 7, dtype=F64, requires_grad=True)
        if causal:  # the inclusive recurrence S <- lam S + k v^T, o = q S
            S, outs = S0, []
            for t in range(T):
                S = lam * S + torch.outer(k[t], v[t])
                outs.append(q[t] @ S)
            o, fin = torch.stack(outs), S
        else:
            fin = S0 + k.T @ v
            o = q @ fin
        dO, dF = torch.randn(T, 7, dtype=F64), torch.randn(5, 7, dtype=F64)
        ((o * dO).sum() + (fin * dF).sum()).backward()
        with torch.no_grad():
            out, X = sweep(q, k, v, S0, lam, False, 1, causal)
            dq, _ = sweep(dO, v, k, S0.T, lam, False, 1, causal)
            dk, _ = sweep(v, dO, q, dF.T, lam, True, 0, causal)
            dv, dS0 = sweep(k, q, dO, dF, lam, True, 0, causal)
        check(f"lightning sweep causal={causal} T={T}",
              [(out, o), (X, fin), (dq, q.grad), (dk, k.grad), (dv, v.grad), (dS0, S0.grad)])


# 2. KDA per value column j: a = exp(g) s; w = v_j - k.a (or v_j); u = beta w; s = a + k u; o_j = scale q.s.
def kda_columns(q, k, v, g, b, S0, dO, dF, delta, scale, chunk=8):
    T, K = k.shape
    V = v.shape[1]
    dq, dk, dg = (torch.zeros(T, K, dtype=F64) for _ in range(3))
    dv, db, dS0 = torch.zeros(T, V, dtype=F64), torch.zeros(T, dtype=F64), torch.zeros(K, V, dtype=F64)

    def step(st, t, j):
        a = torch.exp(g[t]) * st
        w = (v[t, j] - k[t] @ a) if delta else v[t, j]
        u = b[t] * w
        return a, w, u, a + k[t] * u

    for j in range(V):
        st, checkpoints = S0[:, j].clone(), []
        for t in range(T):
            if t % chunk == 0:
                checkpoints.append(st.clone())
            st = step(st, t, j)[3]
        ds = dF[:, j].clone()
        for c in reversed(range(len(checkpoints))):
            st, saved = checkpoints[c].clone(), {}
            for t in range(c * chunk, min(T, c * chunk + chunk)):
                saved[t] = st.clone()
                st = step(st, t, j)[3]
            for t in reversed(range(c * chunk, min(T, c * chunk + chunk))):
                a, w, u, s1 = step(saved[t], t, j)
                ds = ds + scale * q[t] * dO[t, j]
                dq[t] += scale * dO[t, j] * s1
                du = k[t] @ ds
                dk[t] += u * ds
                db[t] += w * du
                dw = b[t] * du
                dv[t, j] = dw
                da = ds - dw * k[t] if delta else ds
                if delta:
                    dk[t] -= dw * a
                dg[t] += da * a
                ds = torch.exp(g[t]) * da
        dS0[:, j] = ds
    return dq, dk, dv, dg, db, dS0


for delta in (True, False):
    T, K, V, scale = 37, 6, 5, 0.7
    q = torch.randn(T, K, dtype=F64, requires_grad=True)
    k = torch.nn.functional.normalize(torch.randn(T, K, dtype=F64), dim=-1).requires_grad_()
    v = torch.randn(T, V, dtype=F64, requires_grad=True)
    g = (-torch.rand(T, K, dtype=F64)).requires_grad_()
    b = torch.rand(T, dtype=F64).requires_grad_()
    S0 = torch.randn(K, V, dtype=F64, requires_grad=True)
    S, outs = S0, []
    for t in range(T):
        S = torch.exp(g[t])[:, None] * S
        u = b[t] * ((v[t] - k[t] @ S) if delta else v[t])
        S = S + torch.outer(k[t], u)
        outs.append(scale * (q[t] @ S))
    dO, dF = torch.randn(T, V, dtype=F64), torch.randn(K, V, dtype=F64)
    ((torch.stack(outs) * dO).sum() + (S * dF).sum()).backward()
    with torch.no_grad():
        got = kda_columns(q, k, v, g, b, S0, dO, dF, delta, scale)
    check(f"kda columns delta={delta}", list(zip(got, [q.grad, k.grad, v.grad, g.grad, b.grad, S0.grad])))


# 3. hedgehog_window: row i's window is keys [ws_i, i], its linear part keys [0, ws_i).
def window_start(i, l, w, layout):
    if w == 0:
        return i + 1
    if layout == "sliding":
        return max(0, i - w + 1)
    o = (-l) % w
    block = (i + o) // w
    return 0 if block == 0 else max(0, (block - 1) * w - o)


def hedgehog_definition(q, k, v, fq, fk, gam, lam, S0, z0, w, layout, scale):
    l, ys = q.shape[0], []
    for i in range(l):
        ws = window_start(i, l, w, layout)
        num, den = lam * (fq[i] @ S0), lam * (fq[i] @ z0)
        if ws > 0:
            a = fk[:ws] @ fq[i]
            num, den = num + lam * (a @ v[:ws]), den + lam * a.sum()
        if ws <= i:
            s = (k[ws:i + 1] @ q[i]) * scale
            E = torch.exp(s - s.amax())
            num, den = num + gam * (E @ v[ws:i + 1]), den + gam * E.sum()
        ys.append(num / (den + (1e-12 if w == 0 else 0)))
    cut = max(l - w, 0)
    return torch.stack(ys), S0 + fk[:cut].T @ v[:cut], z0 + fk[:cut].sum(0)


def hedgehog_split(q, k, v, fq, fk, gam, lam, S0, z0, w, layout, scale, dy, dSf, dzf):
    l, Dv = v.shape
    v1 = torch.cat([v, torch.ones(l, 1, dtype=F64)], 1)
    X0 = torch.cat([S0, z0[:, None]], 1)
    states = X0 + torch.cumsum(fk[:, :, None] * v1[:, None, :], 0)  # the inclusive sweep's state after row i
    lin = torch.einsum("if,ifd->id", fq, states)
    y = torch.zeros(l, Dv, dtype=F64)
    dq, dk, dv, dfq, dfk = (torch.zeros_like(t) for t in (q, k, v, fq, fk))
    dgam = dlam = 0.0
    dlin = torch.zeros(l, Dv + 1, dtype=F64)
    for i in range(l):
        J = list(range(window_start(i, l, w, layout), i + 1))
        s = (k[J] @ q[i]) * scale if J else torch.zeros(0, dtype=F64)
        c = s.max() if J else 0.0
        E, a = torch.exp(s - c), (fk[J] @ fq[i]) if J else torch.zeros(0, dtype=F64)
        vJ = v[J] if J else torch.zeros(0, Dv, dtype=F64)
        LN, LZ = lin[i, :Dv] - a @ vJ, lin[i, Dv] - a.sum()
        den = gam * E.sum() + lam * LZ + (1e-12 if w == 0 else 0)
        y[i] = (gam * (E @ vJ) + lam * LN) / den
        G = dy[i] / den
        dden = -(G * y[i]).sum()
        dlam += G @ LN + dden * LZ
        dlin[i, :Dv], dlin[i, Dv] = lam * G, lam * dden
        if J:
            dcoef = vJ @ G + dden
            ds = gam * E * dcoef
            dgam += (E * dcoef).sum()
            ties = s == c
            ds = ds + ties * (-ds.sum()) / ties.sum()
            da = -lam * dcoef
            dq[i] += scale * (ds @ k[J])
            dfq[i] += da @ fk[J]
            dk[J] += scale * ds[:, None] * q[i][None]
            dfk[J] += da[:, None] * fq[i][None]
            dv[J] += (gam * E - lam * a)[:, None] * G[None]
    cut = max(l - w, 0)
    final = states[-1] - fk[cut:].T @ v1[cut:]
    dX = torch.cat([dSf, dzf[:, None]], 1)
    # The sweep's backward: dfq from each row's state; the state gradient of row i gathers the
    # rows after it (and the final state's); then the last w keys leave the final state.
    dfq += torch.einsum("id,ifd->if", dlin, states)
    Gst = torch.flip(torch.cumsum(torch.flip(fq[:, :, None] * dlin[:, None, :], [0]), 0), [0]) + dX
    dfk += torch.einsum("ifd,id->if", Gst, v1)
    dv += torch.einsum("ifd,if->id", Gst, fk)[:, :Dv]
    for j in range(cut, l):
        dfk[j] -= dX @ v1[j]
        dv[j] -= (fk[j] @ dX)[:Dv]
    dX0 = Gst[0]
    def scalar(x):
        return x.detach().clone() if torch.is_tensor(x) else torch.tensor(x, dtype=F64)

    return (y, final[:, :Dv], final[:, Dv], dq, dk, dv, dfq, dfk, scalar(dgam), scalar(dlam), dX0[:, :Dv], dX0[:, Dv])


for layout in ("sliding", "terrace"):
    for w in (0, 1, 3, 5):
        for l in (1, 4, 11):
            D, F, Dv, scale = 4, 3, 5, 0.5
            leaves = [torch.randn(l, D, dtype=F64), torch.randn(l, D, dtype=F64), torch.randn(l, Dv, dtype=F64),
                      torch.rand(l, F, dtype=F64), torch.rand(l, F, dtype=F64), torch.tensor(0.6, dtype=F64),
                      torch.tensor(0.4, dtype=F64), torch.rand(F, Dv, dtype=F64), torch.rand(F, dtype=F64)]
            for t in leaves:
                t.requires_grad_()
            q, k, v, fq, fk, gam, lam, S0, z0 = leaves
            y, Sf, zf = hedgehog_definition(q, k, v, fq, fk, gam, lam, S0, z0, w, layout, scale)
            dy, dSf, dzf = torch.randn_like(y), torch.randn_like(Sf), torch.randn_like(zf)
            ((y * dy).sum() + (Sf * dSf).sum() + (zf * dzf).sum()).backward()
            with torch.no_grad():
                got = hedgehog_split(q, k, v, fq, fk, float(gam), float(lam), S0, z0, w, layout, scale, dy, dSf, dzf)
            want = [y, Sf, zf, q.grad, k.grad, v.grad, fq.grad, fk.grad, gam.grad, lam.grad, S0.grad, z0.grad]
            check(f"hedgehog split {layout} w={w} l={l}", list(zip(got, want)))

if failures:
    print("FAILED:", ", ".join(failures))
    sys.exit(1)
print("every decomposition matches its definition")
