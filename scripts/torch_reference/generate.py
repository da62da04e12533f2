#!/usr/bin/python3
"""PyTorch incremental decoding of linea's Llama-style decoder, for scripts/bench_generate.sh.

    generate.py CHECKPOINT.h5 PROMPTS.h5 THREADS

PROMPTS.h5 is `linea bench generate --save`'s file: /prompt_<L> (the prompt of each
context L) and /tokens_<L> (linea's greedy tokens). For each context this prefills the
prompt in one forward, then decodes as many greedy tokens one step at a time with a
preallocated KV cache per layer (float32, torch.inference_mode), timing prefill and steps
as linea does, and says whether its tokens equal linea's.
"""
import math
import sys
import time

import h5py
import numpy as np
import torch

from decoder import load_checkpoint, rms_norm, rope_inv_freq, rotate_half


class Llama:
    def __init__(self, cfg, params):
        m = cfg["model"]
        self.p = {k: v.detach().to(torch.float32) for k, v in params.items()}
        self.layers, self.hidden = m["layers"], m["hidden"]
        self.heads, self.kv_heads = m["heads"], m["kv_heads"]
        self.d = self.hidden // self.heads
        self.eps = m["norm"]["eps"]
        att = m["attention"]
        self.inv = rope_inv_freq(self.d, att.get("rope_theta", 10000.0), att.get("rope_scaling"))
        self.head = self.p["embed_tokens.weight"] if m.get("tie_embeddings", True) else self.p["lm_head.weight"]

    def rope(self, positions):
        angles = torch.outer(positions.to(torch.float64), self.inv)
        cos = torch.cat((angles.cos(), angles.cos()), -1).to(torch.float32)
        sin = torch.cat((angles.sin(), angles.sin()), -1).to(torch.float32)
        return cos, sin

    def forward(self, ids, start, cache):
        """ids [T] at positions start.. ; appends to cache (per layer K, V [kv, capacity, d]);
        returns the logits of the last position."""
        T, p, d = ids.shape[0], self.p, self.d
        cos, sin = self.rope(torch.arange(start, start + T))
        x = p["embed_tokens.weight"][ids]
        group = self.heads // self.kv_heads
        mask = torch.full((T, start + T), float("-inf")).triu(start + 1) if T > 1 else None
        for i in range(self.layers):
            pre = f"layers.{i}."
            h = rms_norm(x, p[pre + "input_layernorm.weight"], self.eps)
            q = (h @ p[pre + "self_attn.q_proj.weight"].T).view(T, self.heads, d).transpose(0, 1)
            k = (h @ p[pre + "self_attn.k_proj.weight"].T).view(T, self.kv_heads, d).transpose(0, 1)
            v = (h @ p[pre + "self_attn.v_proj.weight"].T).view(T, self.kv_heads, d).transpose(0, 1)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            K, V = cache[i]
            K[:, start:start + T] = k
            V[:, start:start + T] = v
            keys, values = K[:, :start + T], V[:, :start + T]
            # [kv, group * T, d] against each kv head's keys.
            s = (q.reshape(self.kv_heads, group * T, d) @ keys.transpose(-1, -2)) / math.sqrt(d)
            if mask is not None:
                s = s.view(self.kv_heads, group, T, start + T) + mask
            o = (torch.softmax(s, -1).reshape(self.kv_heads, group * T, -1) @ values).view(self.heads, T, d)
            x = x + o.transpose(0, 1).reshape(T, self.hidden) @ p[pre + "self_attn.o_proj.weight"].T
            h = rms_norm(x, p[pre + "post_attention_layernorm.weight"], self.eps)
            g = h @ p[pre + "mlp.gate_proj.weight"].T
            u = h @ p[pre + "mlp.up_proj.weight"].T
            x = x + (torch.nn.functional.silu(g) * u) @ p[pre + "mlp.down_proj.weight"].T
        return rms_norm(x[-1:], p["norm.weight"], self.eps) @ self.head.T

    def generate(self, prompt, new_tokens):
        capacity = prompt.shape[0] + new_tokens
        cache = [(torch.zeros(self.kv_heads, capacity, self.d), torch.zeros(self.kv_heads, capacity, self.d))
                 for _ in range(self.layers)]
        t0 = time.perf_counter()
        logits = self.forward(prompt, 0, cache)
        prefill = time.perf_counter() - t0
        t0 = time.perf_counter()
        out = []
        for n in range(new_tokens):
            token = int(torch.argmax(logits[-1]))
            out.append(token)
            if n + 1 == new_tokens:
                break
            logits = self.forward(torch.tensor([token]), prompt.shape[0] + n, cache)
        return out, prefill, time.perf_counter() - t0


def main():
    ckpt, prompts_path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.set_num_threads(threads)
    cfg, params = load_checkpoint(ckpt, torch.float32)
    model = Llama(cfg, params)
    with h5py.File(prompts_path, "r") as f:
        contexts = sorted(int(k.split("_")[1]) for k in f.keys() if k.startswith("prompt_"))
        data = {L: (np.asarray(f[f"prompt_{L}"]), np.asarray(f[f"tokens_{L}"])) for L in contexts}
    print(f"pytorch {torch.__version__}: {threads} threads, incremental decoding with a preallocated KV cache")
    with torch.inference_mode():
        for L in contexts:
            prompt, theirs = torch.tensor(data[L][0], dtype=torch.int64), data[L][1].tolist()
            model.generate(prompt[:16], 4)  # warm-up
            tokens, prefill, decode = model.generate(prompt, len(theirs))
            first_diff = next((i for i, (a, b) in enumerate(zip(tokens, theirs)) if a != b), None)
            same = "same tokens as linea" if first_diff is None else f"tokens differ from linea's from token {first_diff}"
            print(f"pytorch context {L}: prefill {prefill:.3f} s ({L / prefill:.0f} tokens/s), {len(tokens)} new tokens "
                  f"in {decode:.3f} s: {(len(tokens) - 1) / decode:.1f} tokens/s; {same}")


if __name__ == "__main__":
    main()
