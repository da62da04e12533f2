#!/usr/bin/python3
"""PyTorch reference of linea's decoders: Llama-style (softmax attention with RoPE or NoPE,
RMSNorm, SwiGLU), TransNormerLLM (lightning attention, SimpleRMSNorm, SGLU;
specs/transnormer.md §2) and Kimi Delta Attention (kda, specs/kimi_linear.md §1.2-1.7, with
its Gated DeltaNet and no-delta-rule variants), or any per-layer mix of them that the config's
layout describes.

Builds the model from a linea checkpoint (HDF5: /model/<name> tensors, root attribute
config_yaml), computes the mean token cross-entropy on a batch and every parameter's
gradient, and writes them for comparison:

    decoder.py CHECKPOINT.h5 BATCH.h5 OUT.h5

BATCH.h5 holds /inputs and /targets ([B, T] integer). OUT.h5 gets /loss (scalar) and
/grad/<name> for every parameter. Runs in float64 so it serves as the reference; written
from the math (lightning attention in its naive O(T^2) form, KDA as the token-by-token
recurrence of specs/kimi_linear.md §1.4), not from linea's code.
bench_decoder.py reuses forward_loss in float32 for throughput comparisons, hf_checkpoint.py
forward_logits for Hugging Face checkpoints.
"""
import math
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F
import yaml


def rope_inv_freq(head_dim, theta, scaling):
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    if not scaling:
        return inv
    # Llama 3.1 rule (transformers' _compute_llama3_parameters).
    factor = scaling["factor"]
    low, high = scaling["low_freq_factor"], scaling["high_freq_factor"]
    old_ctx = scaling["original_max_position_embeddings"]
    low_wavelen, high_wavelen = old_ctx / low, old_ctx / high
    wavelen = 2 * math.pi / inv
    scaled = torch.where(wavelen > low_wavelen, inv / factor, inv)
    smooth = (old_ctx / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = (wavelen >= high_wavelen) & (wavelen <= low_wavelen)
    return torch.where(medium, smoothed, scaled)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def simple_rms_norm(x, eps):
    """SimpleRMSNorm (TransNormerLLM): x / sqrt(mean(x^2) + eps) over the last dim, no gain."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)


def rms_norm(x, w, eps):
    return simple_rms_norm(x, eps) * w


# linea's activation names (model.ffn.activation, model.attention.feature_map).
ACTIVATIONS = {
    "none": lambda x: x,
    "silu": F.silu,
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
    "sigmoid": torch.sigmoid,
    "elu": F.elu,
    "elu_plus_one": lambda x: 1 + F.elu(x),
}


def layer_specs(m):
    """(attention, ffn) config of each layer. Without model.layout: model.attention and
    model.ffn everywhere, attention kinds cycling through model.layer_pattern if given. With a
    layout: its groups in order, `layers: 0` taking the remaining layers, and a group's
    pattern entries cycling over its layers. A dumped config writes every group and pattern
    entry in full, so nothing is inherited from the enclosing level."""
    layout = m.get("layout") or []
    if not layout:
        kinds = m.get("layer_pattern") or []
        specs = []
        for i in range(m["layers"]):
            attention = dict(m.get("attention", {}))
            if kinds:
                attention["kind"] = kinds[i % len(kinds)]
            specs.append((attention, m.get("ffn", {})))
        return specs
    specs = []
    for group in layout:
        count = group["layers"] or m["layers"] - len(specs)
        entries = group.get("pattern") or [group]
        for i in range(count):
            entry = entries[i % len(entries)]
            specs.append((entry["attention"], entry["ffn"]))
    if len(specs) != m["layers"]:
        raise ValueError(f"model.layout covers {len(specs)} layers, model.layers is {m['layers']}")
    return specs


def norm(x, p, name, m):
    """The model's pre-norm: RMSNorm with the gain p[name.weight], or SimpleRMSNorm."""
    n = m["norm"]
    if n.get("position", "pre") != "pre":
        raise NotImplementedError("only pre-norm decoders")
    kind = n.get("kind", "rmsnorm")
    if kind == "rmsnorm":
        return rms_norm(x, p[name + ".weight"], n["eps"])
    if kind == "simple_rmsnorm":
        return simple_rms_norm(x, n["eps"])
    raise NotImplementedError(f"norm kind {kind}")


def softmax_attention(h, p, pre, att, m):
    """Causal softmax attention with RoPE (or none: NoPE) and grouped-query heads (Llama); with a
    window w > 0, query i attends only to the w keys i - w < j <= i (linea's
    model.attention.window)."""
    positions = att.get("positions", "rope")
    if positions not in ("rope", "none"):
        raise NotImplementedError(f"softmax attention: positions {positions}")
    window = att.get("window") or 0
    hidden, heads, kv_heads = m["hidden"], m["heads"], m["kv_heads"]
    d = hidden // heads
    B, T, _ = h.shape
    inv = rope_inv_freq(d, att.get("rope_theta", 10000.0), att.get("rope_scaling"))
    angles = torch.outer(torch.arange(T, dtype=torch.float64), inv)
    cos = torch.cat((angles.cos(), angles.cos()), -1).to(h.dtype)
    sin = torch.cat((angles.sin(), angles.sin()), -1).to(h.dtype)
    mask = torch.full((T, T), float("-inf"), dtype=h.dtype).triu(1)
    if window > 0:
        # Keys w or more positions back leave the window. The diagonal always stays, so no
        # row is all -inf.
        distance = torch.arange(T)[:, None] - torch.arange(T)[None, :]
        mask = mask.masked_fill(distance >= window, float("-inf"))
    q = (h @ p[pre + "q_proj.weight"].T).view(B, T, heads, d).transpose(1, 2)
    k = (h @ p[pre + "k_proj.weight"].T).view(B, T, kv_heads, d).transpose(1, 2)
    v = (h @ p[pre + "v_proj.weight"].T).view(B, T, kv_heads, d).transpose(1, 2)
    if positions == "rope":
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
    k = k.repeat_interleave(heads // kv_heads, dim=1)
    v = v.repeat_interleave(heads // kv_heads, dim=1)
    s = q @ k.transpose(-1, -2) / math.sqrt(d) + mask
    o = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, T, hidden)
    return o @ p[pre + "o_proj.weight"].T


def alibi_slopes(heads):
    """ALiBi's head slopes: 2^(-8 (h+1) / H) for H a power of two; otherwise the slopes of P
    heads, P the largest power of two below H, then every other slope of 2P heads (H - P of them)."""
    def geometric(n):
        return [2.0 ** (-8.0 * (h + 1) / n) for h in range(n)]

    p2 = 2 ** int(math.floor(math.log2(heads)))
    return geometric(p2) + geometric(2 * p2)[0::2][:heads - p2]


def tnl_decay_rates(heads, layer, layers):
    """s_h of layer `layer` of `layers` (λ_h = exp(-s_h)): slope_h (1 - l/(L-1) + 1e-5), with
    l/(L-1) read as 0 for a single layer."""
    depth = layer / (layers - 1) if layers > 1 else 0.0
    return torch.tensor([slope * (1.0 - depth + 1e-5) for slope in alibi_slopes(heads)], dtype=torch.float64)


def lrpe(x, theta):
    """x [B, H, T, d] at 0-based positions p -> [x cos(p θ), x sin(p θ)] [B, H, T, 2d]; θ [H, d]."""
    angles = torch.arange(x.shape[2], dtype=x.dtype)[None, :, None] * theta[:, None, :]
    return torch.cat((x * angles.cos(), x * angles.sin()), -1)


def lightning_attention(h, p, pre, att, m, layer):
    """TransNormerLLM's gated linear attention in its naive O(T^2) form: per head
    o_t = sum_{j<=t} λ^(t-j) (q_t . k_j) v_j, then SimpleRMSNorm over all heads, times the gate
    u, out_proj. q and k go through the feature map (and LRPE if the layer has it); no 1/sqrt(d)."""
    hidden, heads = m["hidden"], m["heads"]
    d = hidden // heads
    B, T, _ = h.shape
    qkvu = (h @ p[pre + "qkvu_proj.weight"].T).view(B, T, 4, heads, d)
    q, k, v = (qkvu[:, :, i].transpose(1, 2) for i in range(3))  # [B, H, T, d]
    u = qkvu[:, :, 3].reshape(B, T, hidden)
    phi = ACTIVATIONS[att.get("feature_map", "silu")]
    q, k = phi(q), phi(k)
    if att.get("positions") == "lrpe":
        theta = p[pre + "lrpe_theta"]
        q, k = lrpe(q, theta), lrpe(k, theta)
    s = tnl_decay_rates(heads, layer, m["layers"]).to(h.dtype)[:, None, None]
    distance = torch.arange(T)[:, None] - torch.arange(T)[None, :]
    # Exponents only for t >= j: λ^(t-j) above the diagonal would overflow, not vanish.
    decay = torch.where(distance >= 0, torch.exp(-s * distance.clamp(min=0)), torch.zeros((), dtype=h.dtype))
    o = ((q @ k.transpose(-1, -2)) * decay) @ v
    o = simple_rms_norm(o.transpose(1, 2).reshape(B, T, hidden), m["norm"]["eps"]) * u
    return o @ p[pre + "out_proj.weight"].T


def short_conv(x, w):
    """Causal depthwise conv over time of x [B, T, C] (each row one whole sequence) with taps
    w [C, W]: y[t, c] = sum_j w[c, j] x[t - (W-1) + j, c], x = 0 before the sequence start, so
    w[c, W-1] multiplies the current token (specs/kimi_linear.md §1.2 step 2)."""
    T, C, W = x.shape[1], w.shape[0], w.shape[1]
    y = F.conv1d(x.transpose(1, 2), w[:, None, :], padding=W - 1, groups=C)
    return y[..., :T].transpose(1, 2)


def l2_normalise(x):
    """x / sqrt(sum x^2 + 1e-6) over the last dim (eps inside the sqrt, §1.2 step 4)."""
    return x / torch.sqrt(x.pow(2).sum(-1, keepdim=True) + 1e-6)


def softplus_exact(z):
    """log(1 + e^z) without the z > 20 passthrough (torch's F.softplus has one)."""
    return torch.logaddexp(z, torch.zeros((), dtype=z.dtype))


# The keys of model.attention.kda this reference implements; any other key is an error.
KDA_KEYS = {"head_dim", "value_dim", "value_heads", "gate_rank", "decay", "delta_rule", "conv_size", "chunk",
            "gate_lower_bound", "output_gate"}
OUTPUT_GATE_ACTIVATIONS = {"sigmoid": torch.sigmoid, "swish": F.silu}


def kda_recurrence(q, k, v, g, beta, delta_rule):
    """The naive recurrence of specs/kimi_linear.md §1.4 from S_0 = 0, token by token.
    q, k [B, T, HV, K] (already mapped to value heads, l2-normalised, q scaled), v [B, T, HV, V],
    g [B, T, HV, K] log decays, beta [B, T, HV]. Per value head, S [K, V] key-major:
      S <- Diag(exp(g_t)) S;  u = beta_t (v_t - S^T k_t)  (without the delta rule: beta_t v_t);
      S <- S + k_t u^T;  o_t = S^T q_t (the updated state). Returns o [B, T, HV, V]."""
    B, T, HV, K = q.shape
    V = v.shape[-1]
    S = torch.zeros(B, HV, K, V, dtype=q.dtype)
    outputs = []
    for t in range(T):
        S = S * torch.exp(g[:, t])[..., None]
        if delta_rule:
            u = beta[:, t, :, None] * (v[:, t] - torch.einsum("bhkv,bhk->bhv", S, k[:, t]))
        else:
            u = beta[:, t, :, None] * v[:, t]
        S = S + k[:, t, :, :, None] * u[:, :, None, :]
        outputs.append(torch.einsum("bhkv,bhk->bhv", S, q[:, t]))
    return torch.stack(outputs, 1)


def kda_attention(h, p, pre, att, m):
    """Kimi Delta Attention (specs/kimi_linear.md §1.2) with linea's options (model.attention.kda):
    q, k, v = SiLU(short_conv(h W^T)) (SiLU also without the conv, conv_size 0); q, k
    l2-normalised per head, q scaled by K^-1/2; the log decay g = -exp(A_log) softplus(a + dt_bias),
    or with gate_lower_bound lb < 0 fla's lower-bound gate g = lb sigmoid(exp(A_log) (a + dt_bias)),
    per (value head, key channel) from the low-rank f_a/f_b projections (decay: per_channel) or per
    value head from a_proj (per_head, Gated DeltaNet, §1.3); beta = sigmoid(h b_proj^T); value
    head e reads q/k head e // G (G = HV / H, §1.7); the recurrence; RMSNorm over V with the
    shared o_norm weight (eps = model.norm.eps), times act(gate) (rank low: g_a/g_b, full: g_proj,
    none); o_proj."""
    if att.get("positions", "none") != "none":
        raise NotImplementedError(f"kda: positions {att['positions']} (kda takes none)")
    opt = att.get("kda") or {}
    unknown = set(opt) - KDA_KEYS
    if unknown:
        raise NotImplementedError(f"kda: options {sorted(unknown)}")
    hidden, H = m["hidden"], m["heads"]
    K = opt.get("head_dim") or hidden // H
    V = opt.get("value_dim") or K
    HV = opt.get("value_heads") or H
    if HV % H:
        raise ValueError(f"kda: {HV} value heads over {H} heads")
    G = HV // H
    W = opt.get("conv_size", 4)
    decay = opt.get("decay", "per_channel")
    delta_rule = opt.get("delta_rule", True)
    gate = opt.get("output_gate") or {}
    if set(gate) - {"rank", "act"}:
        raise NotImplementedError(f"kda: output_gate options {sorted(set(gate) - {'rank', 'act'})}")
    gate_rank, gate_act = gate.get("rank", "low"), gate.get("act", "sigmoid")
    if decay not in ("per_channel", "per_head"):
        raise NotImplementedError(f"kda: decay {decay}")
    if gate_rank not in ("low", "full", "none"):
        raise NotImplementedError(f"kda: output_gate.rank {gate_rank}")
    if gate_act not in OUTPUT_GATE_ACTIVATIONS:
        raise NotImplementedError(f"kda: output_gate.act {gate_act}")
    if not isinstance(delta_rule, bool):
        raise NotImplementedError(f"kda: delta_rule {delta_rule}")
    lb = float(opt.get("gate_lower_bound", 0.0))
    if lb > 0:
        raise NotImplementedError(f"kda: gate_lower_bound {lb} (expected 0 or negative)")

    def log_decay(z, rate):
        return lb * torch.sigmoid(rate * z) if lb < 0 else -rate * softplus_exact(z)
    B, T, _ = h.shape

    def branch(name):
        y = h @ p[pre + name + "_proj.weight"].T
        if W:
            w = p[pre + name + "_conv1d.weight"]
            if tuple(w.shape) != (y.shape[-1], W):
                raise ValueError(f"kda: {name}_conv1d.weight is {tuple(w.shape)}, expected {(y.shape[-1], W)}")
            y = short_conv(y, w)
        elif pre + name + "_conv1d.weight" in p:
            raise ValueError(f"kda: conv_size 0 but the checkpoint has {name}_conv1d.weight")
        return F.silu(y)

    q = l2_normalise(branch("q").view(B, T, H, K)) * K ** -0.5
    k = l2_normalise(branch("k").view(B, T, H, K))
    v = branch("v").view(B, T, HV, V)
    # Grouped value heads: value head e reads q/k head e // G (a block mapping, not e % H).
    qk_head = torch.arange(HV) // G
    q, k = q[:, :, qk_head], k[:, :, qk_head]

    rate = torch.exp(p[pre + "A_log"])  # [HV]
    if decay == "per_channel":
        a = (h @ p[pre + "f_a_proj.weight"].T) @ p[pre + "f_b_proj.weight"].T
        g = log_decay(a.view(B, T, HV, K) + p[pre + "dt_bias"].view(HV, K), rate[:, None])
    else:
        a = h @ p[pre + "a_proj.weight"].T
        g = log_decay(a + p[pre + "dt_bias"], rate)[..., None].expand(B, T, HV, K)
    beta = torch.sigmoid(h @ p[pre + "b_proj.weight"].T)

    o = kda_recurrence(q, k, v, g, beta, delta_rule)
    y = rms_norm(o, p[pre + "o_norm.weight"], m["norm"]["eps"])
    if gate_rank != "none":
        if gate_rank == "low":
            z = (h @ p[pre + "g_a_proj.weight"].T) @ p[pre + "g_b_proj.weight"].T
        else:
            z = h @ p[pre + "g_proj.weight"].T
        y = y * OUTPUT_GATE_ACTIVATIONS[gate_act](z.view(B, T, HV, V))
    return y.reshape(B, T, HV * V) @ p[pre + "o_proj.weight"].T


def mla_attention(h, p, pre, att, m):
    """Kimi Linear's NoPE Multi-head Latent Attention (specs/kimi_linear.md §3), linea's
    model.attention.mla: q = h W_q^T per head [q_nope; q_s]; [c; k_s] = h W_kv_a^T, c RMS-normed
    (kv_a_layernorm, eps = model.norm.eps); per head [k_nope; v] = c W_kv_b^T; keys [k_nope; k_s]
    with k_s shared by the heads; causal softmax at scale (nope + rope)^-1/2; o_proj."""
    if att.get("positions", "none") != "none":
        raise NotImplementedError(f"mla: positions {att['positions']} (mla is NoPE)")
    o = att.get("mla") or {}
    rank, nope = o.get("kv_lora_rank", 512), o.get("nope_head_dim", 128)
    rope, vd = o.get("rope_head_dim", 64), o.get("v_head_dim", 128)
    B, T, _ = h.shape
    H = m["heads"]
    q = (h @ p[pre + "q_proj.weight"].T).view(B, T, H, nope + rope)
    ckv = h @ p[pre + "kv_a_proj_with_mqa.weight"].T
    c = rms_norm(ckv[..., :rank], p[pre + "kv_a_layernorm.weight"], m["norm"]["eps"])
    shared = ckv[..., rank:][:, :, None, :].expand(B, T, H, rope)
    kv = (c @ p[pre + "kv_b_proj.weight"].T).view(B, T, H, nope + vd)
    k = torch.cat([kv[..., :nope], shared], -1)
    v = kv[..., nope:]
    scores = torch.einsum("bihd,bjhd->bhij", q, k) / math.sqrt(nope + rope)
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    probs = torch.softmax(scores.masked_fill(~causal, float("-inf")), -1)
    out = torch.einsum("bhij,bjhd->bihd", probs, v).reshape(B, T, H * vd)
    return out @ p[pre + "o_proj.weight"].T


def token_mixer(h, p, pre, att, m, layer):
    kind = att.get("kind", "softmax")
    if kind == "softmax":
        return softmax_attention(h, p, pre + "self_attn.", att, m)
    if kind == "lightning":
        return lightning_attention(h, p, pre + "self_attn.", att, m, layer)
    if kind == "kda":
        return kda_attention(h, p, pre + "self_attn.", att, m)
    if kind == "mla":
        return mla_attention(h, p, pre + "self_attn.", att, m)
    raise NotImplementedError(f"attention kind {kind}")


# The gate's activation of each GLU-family ffn.kind (glu: model.ffn.activation).
GLU_ACTIVATIONS = {"swiglu": "silu", "sglu": "none"}


def glu(h, p, pre, act="silu"):
    """down(act(gate(x)) * up(x)) with p[pre + "{gate,up,down}_proj.weight"]."""
    g = ACTIVATIONS[act](h @ p[pre + "gate_proj.weight"].T)
    return (g * (h @ p[pre + "up_proj.weight"].T)) @ p[pre + "down_proj.weight"].T


def moe(h, p, pre, ffn):
    """The moe channel mixer (specs/kimi_linear.md §4.2): sigmoid scores s = sigmoid(h W_gate^T);
    each token's top_k experts by s + gate.e_score_correction_bias; their unbiased scores,
    renormalised to sum 1 (+1e-20) when asked, times routed_scaling, weight the experts'
    SwiGLUs; the shared experts' SwiGLU (one, of shared_experts x the width) is added.
    Written token by token from the definition, not as grouped GEMMs."""
    o = ffn.get("moe") or {}
    k, renormalize, scaling = o.get("top_k", 2), o.get("renormalize", True), o.get("routed_scaling", 1.0)
    X = h.reshape(-1, h.shape[-1])
    s = torch.sigmoid(X @ p[pre + "gate.weight"].T)
    chosen = torch.topk(s + p[pre + "gate.e_score_correction_bias"], k, dim=-1).indices
    w = torch.gather(s, 1, chosen)
    if renormalize:
        w = w / (w.sum(-1, keepdim=True) + 1e-20)
    w = w * scaling
    y = torch.zeros_like(X)
    for n in range(X.shape[0]):
        for j in range(k):
            y[n] += w[n, j] * glu(X[n:n + 1], p, f"{pre}experts.{int(chosen[n, j])}.")[0]
    if o.get("shared_experts", 1) > 0:
        y = y + glu(X, p, pre + "shared_experts.")
    return y.reshape(h.shape)


def channel_mixer(h, p, pre, ffn):
    """down(act(gate(x)) * up(x)), or moe."""
    kind = ffn.get("kind", "swiglu")
    if kind == "moe":
        return moe(h, p, pre + "mlp.", ffn)
    if kind == "glu":
        act = ffn["activation"]
    elif kind in GLU_ACTIVATIONS:
        act = GLU_ACTIVATIONS[kind]
    else:
        raise NotImplementedError(f"ffn kind {kind}")
    return glu(h, p, pre + "mlp.", act)


def forward_logits(p, cfg, inputs):
    """Logits [B, T, vocab] of the decoder cfg["model"] describes, parameters p keyed by linea's
    names (Hugging Face Llama's without the `model.` prefix)."""
    m = cfg["model"]
    x = p["embed_tokens.weight"][inputs]
    if m.get("scale_embeddings", False):
        x = x * math.sqrt(m["hidden"])
    positions = m.get("absolute_positions", "none")
    if positions == "sinusoidal":  # fairseq's SinusoidalPositionalEmbedding, first token at position 2
        d, T = m["hidden"], x.shape[1]
        half = d // 2
        freq = torch.exp(torch.arange(half, dtype=x.dtype) * -(math.log(10000.0) / (half - 1)))
        angle = (torch.arange(T, dtype=x.dtype) + 2)[:, None] * freq[None]
        table = torch.cat([torch.sin(angle), torch.cos(angle), torch.zeros(T, d - 2 * half, dtype=x.dtype)], 1)
        x = x + table
    elif positions != "none":
        raise NotImplementedError(f"absolute_positions {positions}")
    for i, (att, ffn) in enumerate(layer_specs(m)):
        pre = f"layers.{i}."
        x = x + token_mixer(norm(x, p, pre + "input_layernorm", m), p, pre, att, m, i)
        x = x + channel_mixer(norm(x, p, pre + "post_attention_layernorm", m), p, pre, ffn)
    x = norm(x, p, "norm", m)
    head = p["embed_tokens.weight"] if m.get("tie_embeddings", True) else p["lm_head.weight"]
    return x @ head.T


def forward_loss(p, cfg, inputs, targets):
    """Mean token cross-entropy over the targets that are not -100."""
    B, T = inputs.shape
    logits = forward_logits(p, cfg, inputs)
    return F.cross_entropy(logits.reshape(B * T, -1), targets.reshape(-1), ignore_index=-100)


def load_checkpoint(path, dtype=torch.float64):
    """The recipe (root attribute config_yaml) and the /model/<name> tensors of a linea
    checkpoint, as leaf tensors of `dtype` that collect gradients."""
    with h5py.File(path, "r") as f:
        cfg = yaml.safe_load(f.attrs["config_yaml"])
        params = {}

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                params[name] = torch.tensor(np.asarray(obj, dtype=np.float64), dtype=dtype, requires_grad=True)

        f["model"].visititems(visit)
    return cfg, params


def write_loss_and_grads(out_path, loss, params):
    """Back-propagates `loss` and writes /loss and /grad/<name> of every parameter to out_path."""
    loss.backward()
    with h5py.File(out_path, "w") as f:
        f["loss"] = loss.item()
        for name, t in params.items():
            f["grad/" + name] = t.grad.numpy()


def main():
    ckpt_path, batch_path, out_path = sys.argv[1:4]
    cfg, params = load_checkpoint(ckpt_path)
    with h5py.File(batch_path, "r") as f:
        inputs = torch.tensor(np.asarray(f["inputs"], dtype=np.int64))
        targets = torch.tensor(np.asarray(f["targets"], dtype=np.int64))
    write_loss_and_grads(out_path, forward_loss(params, cfg, inputs, targets), params)


if __name__ == "__main__":
    main()
