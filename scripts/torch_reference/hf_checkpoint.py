#!/usr/bin/python3
"""PyTorch reference for linea's Hugging Face checkpoint import and export: writes random
checkpoints in Hugging Face's layout and computes what a Hugging Face checkpoint's model
predicts, from config.json and the safetensors files alone.

    hf_checkpoint.py write CONFIG_JSON OUT_DIR [--seed S] [--dtype f32|bf16|f16] [--shards N] [--std 0.2]
    hf_checkpoint.py forward HF_DIR BATCH_H5 OUT_H5

write: OUT_DIR/config.json (CONFIG_JSON unchanged) and every tensor of the architecture that
config.json's model_type names, with Hugging Face's names and shapes, drawn from
torch.Generator(S): normal(0, std), norm gains 1 + 0.1 normal, rounded to --dtype. One file
model.safetensors, or with --shards N > 1 model-0000i-of-0000N.safetensors plus
model.safetensors.index.json.

forward: BATCH_H5 holds /inputs and /targets ([B, T] integers, target -100 = ignored).
OUT_H5 gets /logits ([B, T, vocab] float64) and /loss (mean token cross-entropy over the
targets that are not -100, scalar), computed in float64.

Architectures (config.json model_type):
- llama, mistral: LlamaForCausalLM / MistralForCausalLM (specs/decoder.md); mistral's
  sliding_window w lets query i see keys i - w < j <= i.
- transnormer: TransNormerLLM as released (modeling_transnormer.py; specs/transnormer.md §2).
- kimi_linear: Kimi Linear as released (KimiLinearForCausalLM; specs/kimi_linear.md §1-4): KDA
  and NoPE MLA layers by linear_attn_config's 1-based lists, dense SwiGLU on the first
  first_k_dense_replace layers, MoE blocks (block_sparse_moe.*, routed experts w1/w3/w2) after.
  Routing weights are the unbiased sigmoid scores (vLLM's and sglang's reading; the released
  modeling file adds the correction bias in place and so weights by the biased scores).

The model math is decoder.py's (forward_logits): config.json becomes the cfg dict of a linea
recipe and the tensors get linea's names, so this file holds only the format and the mapping.
safetensors is read and written here with struct and json (no safetensors package): an
8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}}
padded with spaces, then the tensors' little-endian bytes, offsets counted from the end of
the header. Written from the format and math specs, not from any library's code. Unsupported
configurations are refused with a message naming the config.json key, never approximated.
"""
import argparse
import json
import math
import os
import re
import shutil
import struct
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import decoder  # noqa: E402  (the folder must be on the path first)


class Refused(Exception):
    """A config or file this reference does not accept; main prints it without a traceback."""


# ---------------------------------------------------------------------------------------------
# config.json


def integer(c, key, default=None):
    """A positive integer field; `default` when absent (None: the key is required)."""
    v = c.get(key, default)
    if v is None:
        raise Refused(f"config.json: missing {key}")
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        raise Refused(f"config.json: {key} must be a positive integer, got {v!r}")
    return v


def number(c, key, default=None):
    """A numeric field; `default` when absent or null (None: the key is required)."""
    v = c.get(key)
    if v is None:
        v = default
    if v is None:
        raise Refused(f"config.json: missing {key}")
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise Refused(f"config.json: {key} must be a number, got {v!r}")
    return float(v)


def llama_dims(c):
    """The sizes of a Llama/Mistral config, checked for what changes the tensor set."""
    hidden, heads = integer(c, "hidden_size"), integer(c, "num_attention_heads")
    # Hugging Face: a missing or null num_key_value_heads means plain multi-head attention,
    # a missing or null head_dim means hidden_size / num_attention_heads.
    kv_heads = integer(c, "num_key_value_heads", heads)
    if c.get("head_dim") is None and hidden % heads:
        raise Refused(f"config.json: hidden_size {hidden} is not a multiple of num_attention_heads {heads}")
    head_dim = integer(c, "head_dim", hidden // heads)
    if heads % kv_heads:
        raise Refused(f"config.json: num_attention_heads {heads} is not a multiple of num_key_value_heads {kv_heads}")
    if c.get("hidden_act", "silu") != "silu":
        raise Refused(f"config.json: hidden_act {c['hidden_act']!r}; only silu (SwiGLU) is supported")
    for key in ("attention_bias", "mlp_bias"):
        if c.get(key, False) is not False:
            raise Refused(f"config.json: {key} {c[key]!r}; only bias-free projections are supported")
    return dict(hidden=hidden, heads=heads, kv_heads=kv_heads, head_dim=head_dim,
                inter=integer(c, "intermediate_size"), layers=integer(c, "num_hidden_layers"),
                vocab=integer(c, "vocab_size"),
                # LlamaConfig and MistralConfig default to an untied lm_head.
                tie=bool(c.get("tie_word_embeddings", False)))


def transnormer_dims(c):
    """The sizes of a TransNormerLLM config, checked for what changes the tensor set."""
    d, heads = integer(c, "decoder_embed_dim"), integer(c, "decoder_attention_heads")
    layers = integer(c, "decoder_layers")
    if d % heads:
        raise Refused(f"config.json: decoder_embed_dim {d} is not a multiple of decoder_attention_heads {heads}")
    # The release sizes LRPE's theta by decoder_embed_dim / heads but applies it to heads of
    # hidden_dim / heads, so only hidden_dim == decoder_embed_dim is a working model (and
    # TransnormerConfig's default hidden_dim, 1024, must not be guessed).
    if integer(c, "hidden_dim") != d:
        raise Refused(f"config.json: hidden_dim {c['hidden_dim']} differs from decoder_embed_dim {d}")
    lrpe = c.get("linear_use_lrpe_list")
    if not isinstance(lrpe, list) or len(lrpe) != layers or any(v not in (0, 1) for v in lrpe):
        raise Refused(f"config.json: linear_use_lrpe_list must hold decoder_layers ({layers}) entries of 0 or 1, got {lrpe!r}")
    if c.get("bias", False) is not False:
        raise Refused(f"config.json: bias {c['bias']!r}; only bias-free projections are supported")
    if c.get("norm_type", "simplermsnorm") != "simplermsnorm":
        raise Refused(f"config.json: norm_type {c['norm_type']!r}; only simplermsnorm is supported")
    if c.get("glu_act", "none") != "none":
        raise Refused(f"config.json: glu_act {c['glu_act']!r}; TransNormerLLM's SGLU has no activation")
    return dict(d=d, heads=heads, layers=layers, lrpe=[bool(v) for v in lrpe],
                glu=integer(c, "glu_dim"), vocab=integer(c, "vocab_size"),
                # TransnormerConfig keeps PretrainedConfig's default: lm_head tied to the embedding.
                tie=bool(c.get("tie_word_embeddings", True)))


def kimi_dims(c):
    """The sizes of a Kimi Linear config (KimiLinearConfig of the release), checked for what
    changes the tensor set or the math. Layer lists in linear_attn_config count from 1."""
    d, heads, layers = integer(c, "hidden_size"), integer(c, "num_attention_heads"), integer(c, "num_hidden_layers")
    lin = c.get("linear_attn_config")
    if not isinstance(lin, dict):
        raise Refused(f"config.json: linear_attn_config must be a map, got {lin!r}")
    kda, mla = lin.get("kda_layers"), lin.get("full_attn_layers")
    if not isinstance(kda, list) or not isinstance(mla, list) or sorted(kda + mla) != list(range(1, layers + 1)):
        raise Refused(f"config.json: linear_attn_config kda_layers {kda!r} and full_attn_layers {mla!r} must "
                      f"together hold 1..{layers} once each")
    if integer(lin, "num_heads") != heads:
        raise Refused("config.json: linear_attn_config.num_heads differs from num_attention_heads")
    if mla and c.get("mla_use_nope") is not True:  # KimiLinearConfig's default (False) is refused by its model
        raise Refused(f"config.json: mla_use_nope {c.get('mla_use_nope')!r}; only true is supported")
    for key, value in (("q_lora_rank", None), ("moe_router_activation_func", "sigmoid"),
                       ("hidden_act", "silu"), ("moe_layer_freq", 1)):
        if c.get(key, value) != value:
            raise Refused(f"config.json: {key} {c[key]!r}; only {value!r} is supported")
    if c.get("use_grouped_topk", True) and (c.get("num_expert_group", 1) != 1 or c.get("topk_group", 1) != 1):
        raise Refused("config.json: grouped top-k routing over several expert groups is not supported")
    experts = c.get("num_experts")
    dense = min(c.get("first_k_dense_replace", 0), layers) if experts is not None else layers
    return dict(d=d, heads=heads, layers=layers, vocab=integer(c, "vocab_size"), kda=set(kda),
                K=integer(lin, "head_dim"), W=integer(lin, "short_conv_kernel_size"),
                rank=integer(c, "kv_lora_rank"), nope=integer(c, "qk_nope_head_dim"),
                rope=integer(c, "qk_rope_head_dim"), vd=integer(c, "v_head_dim"),
                inter=integer(c, "intermediate_size"), dense=dense, experts=experts,
                moe_inter=integer(c, "moe_intermediate_size") if experts is not None else 0,
                shared=c.get("num_shared_experts", 0) if experts is not None else 0,
                tie=bool(c.get("tie_word_embeddings", False)))


def hf_tensors(c):
    """[(Hugging Face name, shape, is a norm gain)] of the architecture, in the order of the
    model's state dict."""
    kind = c.get("model_type")
    out = []
    if kind in ("llama", "mistral"):
        k = llama_dims(c)
        h, q, kv, f = k["hidden"], k["heads"] * k["head_dim"], k["kv_heads"] * k["head_dim"], k["inter"]
        out.append(("model.embed_tokens.weight", (k["vocab"], h), False))
        for i in range(k["layers"]):
            pre = f"model.layers.{i}."
            out += [(pre + "self_attn.q_proj.weight", (q, h), False),
                    (pre + "self_attn.k_proj.weight", (kv, h), False),
                    (pre + "self_attn.v_proj.weight", (kv, h), False),
                    (pre + "self_attn.o_proj.weight", (h, q), False),
                    (pre + "mlp.gate_proj.weight", (f, h), False),
                    (pre + "mlp.up_proj.weight", (f, h), False),
                    (pre + "mlp.down_proj.weight", (h, f), False),
                    (pre + "input_layernorm.weight", (h,), True),
                    (pre + "post_attention_layernorm.weight", (h,), True)]
        out.append(("model.norm.weight", (h,), True))
        vocab, width = k["vocab"], h
    elif kind == "transnormer":
        k = transnormer_dims(c)
        d, heads, g = k["d"], k["heads"], k["glu"]
        out.append(("model.embed_tokens.weight", (k["vocab"], d), False))
        for i in range(k["layers"]):
            pre = f"model.layers.{i}."
            out += [(pre + "token_mixer.qkvu_proj.weight", (4 * d, d), False),
                    (pre + "token_mixer.out_proj.weight", (d, d), False)]
            if k["lrpe"][i]:
                out.append((pre + "token_mixer.lrpe.theta", (heads, 1, d // heads), False))
            out += [(pre + "channel_mixer.l1.weight", (g, d), False),
                    (pre + "channel_mixer.l2.weight", (g, d), False),
                    (pre + "channel_mixer.l3.weight", (d, g), False)]
        # token_norm, channel_norm, token_mixer.norm and final_norm are SimpleRMSNorm: no tensors.
        vocab, width = k["vocab"], d
    elif kind == "kimi_linear":
        k = kimi_dims(c)
        d, H, K = k["d"], k["heads"], k["K"]
        C = H * K
        out.append(("model.embed_tokens.weight", (k["vocab"], d), False))
        for i in range(k["layers"]):
            pre = f"model.layers.{i}."
            if i + 1 in k["kda"]:
                a = pre + "self_attn."
                for x in "qkv":
                    out += [(a + f"{x}_proj.weight", (C, d), False), (a + f"{x}_conv1d.weight", (C, 1, k["W"]), False)]
                out += [(a + "A_log", (1, 1, H, 1), False), (a + "dt_bias", (C,), False),
                        (a + "f_a_proj.weight", (K, d), False), (a + "f_b_proj.weight", (C, K), False),
                        (a + "b_proj.weight", (H, d), False),
                        (a + "g_a_proj.weight", (K, d), False), (a + "g_b_proj.weight", (C, K), False),
                        (a + "o_norm.weight", (K,), True), (a + "o_proj.weight", (d, C), False)]
            else:
                a = pre + "self_attn."
                out += [(a + "q_proj.weight", (H * (k["nope"] + k["rope"]), d), False),
                        (a + "kv_a_proj_with_mqa.weight", (k["rank"] + k["rope"], d), False),
                        (a + "kv_a_layernorm.weight", (k["rank"],), True),
                        (a + "kv_b_proj.weight", (H * (k["nope"] + k["vd"]), k["rank"]), False),
                        (a + "o_proj.weight", (d, H * k["vd"]), False)]
            if i < k["dense"]:
                f = k["inter"]
                out += [(pre + "mlp.gate_proj.weight", (f, d), False), (pre + "mlp.up_proj.weight", (f, d), False),
                        (pre + "mlp.down_proj.weight", (d, f), False)]
            else:
                b, f = pre + "block_sparse_moe.", k["moe_inter"]
                out += [(b + "gate.weight", (k["experts"], d), False),
                        (b + "gate.e_score_correction_bias", (k["experts"],), False)]
                for e in range(k["experts"]):
                    out += [(b + f"experts.{e}.w1.weight", (f, d), False), (b + f"experts.{e}.w2.weight", (d, f), False),
                            (b + f"experts.{e}.w3.weight", (f, d), False)]
                if k["shared"]:
                    fs = f * k["shared"]
                    out += [(b + "shared_experts.gate_proj.weight", (fs, d), False),
                            (b + "shared_experts.up_proj.weight", (fs, d), False),
                            (b + "shared_experts.down_proj.weight", (d, fs), False)]
            out += [(pre + "input_layernorm.weight", (d,), True), (pre + "post_attention_layernorm.weight", (d,), True)]
        out.append(("model.norm.weight", (d,), True))
        vocab, width = k["vocab"], d
    else:
        raise Refused(f"config.json: model_type {kind!r}; supported: llama, mistral, transnormer, kimi_linear")
    if not k["tie"]:
        out.append(("lm_head.weight", (vocab, width), False))
    return out


# ---------------------------------------------------------------------------------------------
# Hugging Face config and names -> decoder.py's cfg dict and linea names


def llama_to_linea(c, t):
    k = llama_dims(c)
    if k["head_dim"] * k["heads"] != k["hidden"]:
        raise Refused(f"config.json: head_dim {k['head_dim']} is not hidden_size / num_attention_heads "
                      f"({k['hidden']} / {k['heads']}); decoder.py derives the head size from hidden")
    if "rope_parameters" in c:
        raise Refused("config.json: rope_parameters (the newer RoPE config layout) is not supported")
    scaling = c.get("rope_scaling")
    if scaling is not None:
        kind = scaling.get("rope_type", scaling.get("type"))
        if kind != "llama3":
            raise Refused(f"config.json: rope_scaling type {kind!r}; only llama3 is supported")
        scaling = {key: number(scaling, key) for key in
                   ("factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings")}
    # rope_theta may be absent from older configs: LlamaConfig's and MistralConfig's default.
    # rms_norm_eps has no safe default (1e-5 and 1e-6 releases exist), so it stays required.
    # sliding_window is Mistral's; null means full causal attention (0 is not a window).
    window = c.get("sliding_window") if c["model_type"] == "mistral" else None
    if window is not None:
        window = integer(c, "sliding_window")
    cfg = {"model": {
        "hidden": k["hidden"], "heads": k["heads"], "kv_heads": k["kv_heads"], "layers": k["layers"],
        "vocab_size": k["vocab"],
        "norm": {"kind": "rmsnorm", "eps": number(c, "rms_norm_eps"), "position": "pre"},
        "attention": {"kind": "softmax", "positions": "rope", "rope_theta": number(c, "rope_theta", 10000.0),
                      "rope_scaling": scaling, "window": window or 0},
        "ffn": {"kind": "swiglu", "hidden": k["inter"]},
        "tie_embeddings": k["tie"], "scale_embeddings": False}}
    # linea's names are Hugging Face Llama's without the model. prefix; lm_head keeps its name.
    return cfg, {re.sub(r"^model\.", "", name): v for name, v in t.items()}


# TransNormerLLM's module names -> the names decoder.py's lightning layers read.
TNL_NAMES = {
    "token_mixer.qkvu_proj.weight": "self_attn.qkvu_proj.weight",
    "token_mixer.out_proj.weight": "self_attn.out_proj.weight",
    "token_mixer.lrpe.theta": "self_attn.lrpe_theta",
    "channel_mixer.l1.weight": "mlp.gate_proj.weight",  # decoder.py's sglu: down(gate(x) * up(x))
    "channel_mixer.l2.weight": "mlp.up_proj.weight",
    "channel_mixer.l3.weight": "mlp.down_proj.weight",
}


def transnormer_to_linea(c, t):
    k = transnormer_dims(c)
    act = c.get("linear_act_fun", "silu")
    # The release's utils.py maps both silu and swish to F.silu and "none" to the identity.
    feature_map = {"silu": "silu", "swish": "silu", "none": "none"}.get(act)
    if feature_map is None:
        raise Refused(f"config.json: linear_act_fun {act!r}; supported: silu, swish, none")
    ffn = {"kind": "sglu", "hidden": k["glu"]}

    def attention(lrpe):
        return {"kind": "lightning", "positions": "lrpe" if lrpe else "none", "feature_map": feature_map}

    cfg = {"model": {
        "hidden": k["d"], "heads": k["heads"], "kv_heads": k["heads"], "layers": k["layers"],
        "vocab_size": k["vocab"],
        # The release builds every SimpleRMSNorm without an eps; its implementations use 1e-6.
        "norm": {"kind": "simple_rmsnorm", "eps": 1e-6, "position": "pre"},
        "attention": attention(False), "ffn": ffn,
        # One layout group per layer, written in full as a dumped linea config is (layer_specs
        # inherits nothing); the decay schedule comes from the layer index, not the group.
        "layout": [{"layers": 1, "attention": attention(lrpe), "ffn": ffn} for lrpe in k["lrpe"]],
        "scale_embeddings": not c.get("no_scale_embedding", False),
        "tie_embeddings": k["tie"]}}
    p = {}
    for name, v in t.items():
        m = re.fullmatch(r"model\.layers\.(\d+)\.(.+)", name)
        if m:
            name = f"layers.{m[1]}.{TNL_NAMES[m[2]]}"
            if name.endswith("lrpe_theta"):
                v = v.reshape(v.shape[0], v.shape[2])  # [H, 1, Dh] -> decoder.py's [H, Dh]
        elif name == "model.embed_tokens.weight":
            name = "embed_tokens.weight"
        p[name] = v
    return cfg, p


# The release's routed-expert names -> linea's (w1 gate, w3 up, w2 down).
KIMI_EXPERT = {"w1": "gate_proj", "w3": "up_proj", "w2": "down_proj"}


def kimi_to_linea(c, t):
    k = kimi_dims(c)
    kda = {"kind": "kda", "positions": "none",
           "kda": {"head_dim": k["K"], "value_dim": k["K"], "gate_rank": k["K"], "conv_size": k["W"]}}
    mla = {"kind": "mla", "positions": "none",
           "mla": {"kv_lora_rank": k["rank"], "nope_head_dim": k["nope"], "rope_head_dim": k["rope"],
                   "v_head_dim": k["vd"]}}
    dense = {"kind": "swiglu", "hidden": k["inter"]}
    moe = {"kind": "moe", "hidden": k["moe_inter"],
           # The release renormalizes the chosen scores only when it picks more than one expert.
           "moe": {"experts": k["experts"], "top_k": c.get("num_experts_per_token"), "shared_experts": k["shared"],
                   "routed_scaling": c.get("routed_scaling_factor", 1.0),
                   "renormalize": c.get("moe_renormalize", True) and c.get("num_experts_per_token") > 1}}
    layout = [{"layers": 1, "attention": kda if i + 1 in k["kda"] else mla, "ffn": dense if i < k["dense"] else moe}
              for i in range(k["layers"])]
    cfg = {"model": {"hidden": k["d"], "heads": k["heads"], "kv_heads": k["heads"], "layers": k["layers"],
                     "vocab_size": k["vocab"], "norm": {"kind": "rmsnorm", "eps": number(c, "rms_norm_eps"), "position": "pre"},
                     "layout": layout, "tie_embeddings": k["tie"], "scale_embeddings": False}}
    p = {}
    for name, v in t.items():
        name = re.sub(r"^model\.", "", name)
        m = re.fullmatch(r"(layers\.\d+\.)block_sparse_moe\.(.+)", name)
        if m:
            rest = m[2]
            e = re.fullmatch(r"experts\.(\d+)\.(w[123])\.weight", rest)
            if e:
                rest = f"experts.{e[1]}.{KIMI_EXPERT[e[2]]}.weight"
            name = m[1] + "mlp." + rest
        if re.fullmatch(r"layers\.\d+\.self_attn\.[qkv]_conv1d\.weight", name):
            v = v.reshape(v.shape[0], v.shape[2])  # [C, 1, W] -> decoder.py's [C, W]
        elif name.endswith("self_attn.A_log"):
            v = v.reshape(-1)  # [1, 1, H, 1] -> [H]
        p[name] = v
    return cfg, p


def to_linea(c, t):
    """decoder.py's cfg dict and parameters for config c and the Hugging Face tensors t, after
    checking that t holds exactly the tensors the config implies."""
    expected = {name: shape for name, shape, _ in hf_tensors(c)}
    t = dict(t)
    # A tied model's lm_head.weight is normally left out of safetensors; a file that still
    # carries it must carry the embedding, which is what the tied model uses.
    if "lm_head.weight" in t and "lm_head.weight" not in expected:
        if not torch.equal(t["lm_head.weight"], t.get("model.embed_tokens.weight", torch.empty(0))):
            raise Refused("tie_word_embeddings is true but lm_head.weight differs from model.embed_tokens.weight")
        del t["lm_head.weight"]
    missing, extra = sorted(set(expected) - set(t)), sorted(set(t) - set(expected))
    if missing or extra:
        raise Refused(f"tensors do not match config.json: missing {missing}, unexpected {extra}")
    for name, shape in expected.items():
        if tuple(t[name].shape) != tuple(shape):
            raise Refused(f"{name}: shape {list(t[name].shape)}, config.json implies {list(shape)}")
    if c["model_type"] == "transnormer":
        return transnormer_to_linea(c, t)
    if c["model_type"] == "kimi_linear":
        return kimi_to_linea(c, t)
    return llama_to_linea(c, t)


# ---------------------------------------------------------------------------------------------
# safetensors


# torch dtype of each --dtype, and safetensors' name for it.
DTYPES = {"f32": (torch.float32, "F32"), "bf16": (torch.bfloat16, "BF16"), "f16": (torch.float16, "F16")}
# safetensors dtype -> (numpy dtype of the stored bits, bytes per element).
READ_DTYPES = {"F64": ("<f8", 8), "F32": ("<f4", 4), "F16": ("<f2", 2), "BF16": ("<u2", 2)}


def tensor_bytes(t):
    """Little-endian bytes of a float32/float16/bfloat16 tensor."""
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        # numpy has no bfloat16: reinterpret the bits (torch rounded to nearest even).
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    return t.numpy().astype({torch.float32: "<f4", torch.float16: "<f2"}[t.dtype]).tobytes()


def write_safetensors(path, items):
    """items: [(name, tensor)], stored contiguously in this order."""
    st_name = {dt: name for dt, name in DTYPES.values()}
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in items:
        b = tensor_bytes(t)
        header[name] = {"dtype": st_name[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # keeps the data 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    return offset


def read_safetensors(path):
    """({name: float64 tensor}, bytes of tensor data) of one file. Checks what the safetensors
    format requires, so that a malformed file from linea's writer fails here: every tensor's
    byte count matches its shape and dtype, and the tensors tile the data without gaps or
    overlaps."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise Refused(f"{path}: shorter than the 8-byte header length")
    (n,) = struct.unpack_from("<Q", raw)
    if 8 + n > len(raw):
        raise Refused(f"{path}: header length {n} runs past the end of the file ({len(raw)} bytes)")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = memoryview(raw)[8 + n:]
    header.pop("__metadata__", None)
    tensors, spans = {}, []
    for name, info in header.items():
        if info.get("dtype") not in READ_DTYPES:
            raise Refused(f"{path}: {name} has dtype {info.get('dtype')!r}; supported: {sorted(READ_DTYPES)}")
        np_dtype, size = READ_DTYPES[info["dtype"]]
        shape, (begin, end) = info["shape"], info["data_offsets"]
        if not 0 <= begin <= end <= len(data) or end - begin != math.prod(shape) * size:
            raise Refused(f"{path}: {name} {info['dtype']} {shape} has data_offsets [{begin}, {end}] "
                          f"in {len(data)} bytes of data")
        a = np.frombuffer(data[begin:end], dtype=np_dtype)
        if info["dtype"] == "BF16":
            a = (a.astype(np.uint32) << 16).view(np.float32)  # bf16 is the top half of an f32
        tensors[name] = torch.from_numpy(a.astype(np.float64).reshape(shape))
        spans.append((begin, end, name))
    pos = 0
    for begin, end, name in sorted(spans):
        if begin != pos:
            raise Refused(f"{path}: {name} starts at byte {begin} of the data, the previous tensor ends at {pos}")
        pos = end
    if pos != len(data):
        raise Refused(f"{path}: {len(data) - pos} bytes after the last tensor")
    return tensors, len(data)


def read_checkpoint(directory):
    """Every tensor of a Hugging Face checkpoint folder, as float64: through
    model.safetensors.index.json when present, else model.safetensors."""
    index_path = os.path.join(directory, "model.safetensors.index.json")
    if not os.path.exists(index_path):
        return read_safetensors(os.path.join(directory, "model.safetensors"))[0]
    with open(index_path) as f:
        index = json.load(f)
    weight_map, tensors, total = index["weight_map"], {}, 0
    for file in sorted(set(weight_map.values())):
        part, size = read_safetensors(os.path.join(directory, file))
        total += size
        for name, v in part.items():
            if weight_map.get(name) != file:
                raise Refused(f"{file} holds {name}, which the index maps to {weight_map.get(name)}")
            tensors[name] = v
    missing = sorted(set(weight_map) - set(tensors))
    if missing:
        raise Refused(f"the index lists tensors no shard holds: {missing}")
    stated = index.get("metadata", {}).get("total_size")
    if stated is not None and stated != total:
        raise Refused(f"index metadata.total_size {stated}, the shards hold {total} bytes of tensor data")
    return tensors


def split_shards(items, n):
    """items in order, cut into n non-empty consecutive groups of about equal bytes."""
    if not 1 <= n <= len(items):
        raise Refused(f"--shards {n}: the model has {len(items)} tensors")
    sizes = [t.numel() * t.element_size() for _, t in items]
    total, groups, acc = sum(sizes), [[]], 0
    for i, (item, size) in enumerate(zip(items, sizes)):
        shards_after = n - len(groups)
        # Close the current group once it holds its share, or when each remaining tensor is
        # needed to keep the remaining shards non-empty.
        if groups[-1] and shards_after > 0 and (acc >= total * len(groups) / n or len(items) - i == shards_after):
            groups.append([])
        groups[-1].append(item)
        acc += size
    return groups


# ---------------------------------------------------------------------------------------------
# commands


def write(args):
    with open(args.config) as f:
        c = json.load(f)
    dtype = DTYPES[args.dtype][0]
    g = torch.Generator().manual_seed(args.seed)
    items = []
    for name, shape, is_norm in hf_tensors(c):
        x = torch.randn(shape, generator=g, dtype=torch.float32)
        items.append((name, (1 + 0.1 * x if is_norm else args.std * x).to(dtype)))
    os.makedirs(args.out_dir, exist_ok=True)
    shutil.copyfile(args.config, os.path.join(args.out_dir, "config.json"))
    if args.shards == 1:
        write_safetensors(os.path.join(args.out_dir, "model.safetensors"), items)
        return
    weight_map, total = {}, 0
    groups = split_shards(items, args.shards)
    for i, group in enumerate(groups):
        file = f"model-{i + 1:05d}-of-{len(groups):05d}.safetensors"
        total += write_safetensors(os.path.join(args.out_dir, file), group)
        weight_map.update({name: file for name, _ in group})
    with open(os.path.join(args.out_dir, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)
        f.write("\n")


def forward(args):
    with open(os.path.join(args.hf_dir, "config.json")) as f:
        c = json.load(f)
    cfg, params = to_linea(c, read_checkpoint(args.hf_dir))
    with h5py.File(args.batch, "r") as f:
        inputs = torch.tensor(np.asarray(f["inputs"], dtype=np.int64))
        targets = torch.tensor(np.asarray(f["targets"], dtype=np.int64))
    vocab = cfg["model"]["vocab_size"]
    if inputs.dim() != 2 or inputs.shape != targets.shape:
        raise Refused(f"inputs {list(inputs.shape)} and targets {list(targets.shape)} must both be [B, T]")
    if inputs.min() < 0 or inputs.max() >= vocab or ((targets != -100) & ((targets < 0) | (targets >= vocab))).any():
        raise Refused(f"token ids must lie in [0, {vocab}) (targets may be -100)")
    with torch.no_grad():
        logits = decoder.forward_logits(params, cfg, inputs)
        loss = F.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1), ignore_index=-100)
    with h5py.File(args.out, "w") as f:
        f["logits"] = logits.numpy()
        f["loss"] = loss.item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("write", help="a random Hugging Face checkpoint for CONFIG_JSON")
    w.add_argument("config", metavar="CONFIG_JSON")
    w.add_argument("out_dir", metavar="OUT_DIR")
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--dtype", choices=sorted(DTYPES), default="f32")
    w.add_argument("--shards", type=int, default=1)
    w.add_argument("--std", type=float, default=0.2)
    fw = sub.add_parser("forward", help="float64 logits and loss of a Hugging Face checkpoint on a batch")
    fw.add_argument("hf_dir", metavar="HF_DIR")
    fw.add_argument("batch", metavar="BATCH_H5")
    fw.add_argument("out", metavar="OUT_H5")
    args = parser.parse_args()
    try:
        write(args) if args.command == "write" else forward(args)
    except Refused as e:
        sys.exit(f"hf_checkpoint.py: {e}")


if __name__ == "__main__":
    main()
