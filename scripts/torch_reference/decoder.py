#!/usr/bin/python3
"""PyTorch reference of linea's Llama-style decoder.

Builds the model from a linea checkpoint (HDF5: /model/<name> tensors, root attribute
config_yaml), computes the mean token cross-entropy on a batch and every parameter's
gradient, and writes them for comparison:

    decoder.py CHECKPOINT.h5 BATCH.h5 OUT.h5

BATCH.h5 holds /inputs and /targets ([B, T] integer). OUT.h5 gets /loss (scalar) and
/grad/<name> for every parameter. Runs in float64 so it serves as the reference. bench_decoder.py reuses forward_loss in
float32 for throughput comparisons.
"""
import math
import sys

import h5py
import numpy as np
import torch
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


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def forward_loss(p, cfg, inputs, targets):
    m = cfg["model"]
    hidden, heads, kv_heads = m["hidden"], m["heads"], m["kv_heads"]
    d = hidden // heads
    eps = m["norm"]["eps"]
    att = m["attention"]
    B, T = inputs.shape
    dtype = p["embed_tokens.weight"].dtype
    inv = rope_inv_freq(d, att.get("rope_theta", 10000.0), att.get("rope_scaling"))
    angles = torch.outer(torch.arange(T, dtype=torch.float64), inv)
    cos = torch.cat((angles.cos(), angles.cos()), -1).to(dtype)
    sin = torch.cat((angles.sin(), angles.sin()), -1).to(dtype)
    mask = torch.full((T, T), float("-inf"), dtype=dtype).triu(1)

    x = p["embed_tokens.weight"][inputs]
    for i in range(m["layers"]):
        pre = f"layers.{i}."
        h = rms_norm(x, p[pre + "input_layernorm.weight"], eps)
        q = (h @ p[pre + "self_attn.q_proj.weight"].T).view(B, T, heads, d).transpose(1, 2)
        k = (h @ p[pre + "self_attn.k_proj.weight"].T).view(B, T, kv_heads, d).transpose(1, 2)
        v = (h @ p[pre + "self_attn.v_proj.weight"].T).view(B, T, kv_heads, d).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(heads // kv_heads, dim=1)
        v = v.repeat_interleave(heads // kv_heads, dim=1)
        s = q @ k.transpose(-1, -2) / math.sqrt(d) + mask
        o = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, T, hidden)
        x = x + o @ p[pre + "self_attn.o_proj.weight"].T
        h = rms_norm(x, p[pre + "post_attention_layernorm.weight"], eps)
        g = h @ p[pre + "mlp.gate_proj.weight"].T
        u = h @ p[pre + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(g) * u) @ p[pre + "mlp.down_proj.weight"].T
    x = rms_norm(x, p["norm.weight"], eps)
    head = p["embed_tokens.weight"] if m.get("tie_embeddings", True) else p["lm_head.weight"]
    logits = x @ head.T
    return torch.nn.functional.cross_entropy(logits.reshape(B * T, -1), targets.reshape(-1), ignore_index=-100)


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
