#!/usr/bin/python3
"""PyTorch reference of linea's MosaicBERT encoder.

Written the way MosaicBERT's own code computes the model (bert_layers.py / bert_padding.py),
not the way linea does, so that agreement means something:
  * embeddings on the padded [B, S] batch (word lookup with padding_idx 0, no positions),
    then one gather to the real tokens [nnz, H];
  * every dense op, residual and LayerNorm on the unpadded rows, but attention on the
    re-padded [B, nh, S, d] tensor with a precomputed bias = symmetric ALiBi
    (-m_h |i - j|, slopes from our own Press et al. get_slopes) + an additive -1e4 key mask;
  * the last layer runs out_proj, the norms and the GeGLU only on the masked rows plus each
    sequence's first token (MosaicBERT's subset trick), and the MLM head only on the masked rows.
`padded=True` instead runs every op on all B x S rows (HF BERT's layout) with the same bias,
for the throughput comparison in bench_mosaicbert.py.

    mosaicbert.py CHECKPOINT.h5 BATCH.h5 OUT.h5

CHECKPOINT.h5 is a linea checkpoint (/model/<name> tensors, root attribute config_yaml).
BATCH.h5 holds /input_ids, /attention_mask, /labels ([B, T] integers; labels -100 where no
loss) and optionally /token_type_ids. OUT.h5 gets /loss (scalar) and /grad/<name> for every
parameter. Runs in float64 so it serves as the reference.
"""
import math
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

from decoder import load_checkpoint, write_loss_and_grads

# MosaicBERT's key-padding mask value (bert_layers.py: (1 - mask) * -10000.0).
MASK_BIAS = -10000.0


def alibi_slopes(n):
    """Press et al.'s slopes (ofirpress/attention_with_linear_biases get_slopes): for a power
    of two n the geometric series start^k with start = 2^(-8/n); otherwise the slopes of the
    largest power of two c < n followed by every other slope of 2c heads."""
    def power_of_2(n):
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        return [start * start ** i for i in range(n)]

    if math.log2(n).is_integer():
        return power_of_2(n)
    c = 2 ** math.floor(math.log2(n))
    return power_of_2(c) + alibi_slopes(2 * c)[0::2][: n - c]


def alibi_bias(heads, S, dtype):
    """[1, heads, S, S] symmetric bias -m_h |i - j| (BertEncoder.rebuild_alibi_tensor)."""
    pos = torch.arange(S)
    dist = (pos[None, :] - pos[:, None]).abs().to(dtype)
    slopes = torch.tensor(alibi_slopes(heads), dtype=dtype)
    return (-slopes[:, None, None] * dist[None]).unsqueeze(0)


def layer_norm(x, p, name, eps):
    return F.layer_norm(x, x.shape[-1:], p[name + ".weight"], p[name + ".bias"], eps)


def linear(x, p, name):
    return F.linear(x, p[name + ".weight"], p.get(name + ".bias"))


def forward_loss(p, cfg, input_ids, attention_mask, labels, token_type_ids=None, padded=False):
    """Mean cross-entropy over the positions whose label is not -100 (MosaicBERT selects
    labels > 0; the two agree because [PAD] = 0 is never a masking target)."""
    m = cfg["model"]
    H, nh = m["hidden"], m["heads"]
    d = H // nh
    I = m["ffn"]["hidden"]
    eps = m["norm"]["eps"]
    B, S = input_ids.shape
    dtype = p["embeddings.word_embeddings.weight"].dtype
    if token_type_ids is None:
        token_type_ids = torch.zeros_like(input_ids)
    mask = attention_mask.bool()
    word = p["embeddings.word_embeddings.weight"]

    # BertEmbeddings: nn.Embedding(padding_idx=0) writes no lookup gradient to row 0; the tied
    # decoder below still does, through the same tensor.
    x = F.embedding(input_ids, word, padding_idx=0) + p["embeddings.token_type_embeddings.weight"][token_type_ids]
    x = layer_norm(x, p, "embeddings.norm", eps).reshape(B * S, H)

    bias = alibi_bias(nh, S, dtype) + (1.0 - attention_mask.to(dtype))[:, None, None, :] * MASK_BIAS
    flat_mask = mask.flatten()
    rows = torch.arange(B * S) if padded else torch.nonzero(flat_mask).flatten()  # bert_padding.unpad_input
    h = x[rows]
    masked = (labels != -100).flatten()
    # Last-layer rows: masked tokens and each sequence's first token (kept for the pooler).
    first_col = torch.zeros(B, S, dtype=torch.bool)
    first_col[:, 0] = True
    subset_mask = (masked | first_col.flatten())[rows]
    subset = torch.nonzero(subset_mask).flatten()

    for i in range(m["layers"]):
        pre = f"layers.{i}."
        qkv = linear(h, p, pre + "attention.Wqkv")
        # Scatter to the padded layout (zeros at pads: pad_input), attend, gather back.
        full = torch.zeros(B * S, 3 * H, dtype=dtype).index_put((rows,), qkv)
        full = full.view(B, S, 3, nh, d)
        q = full[:, :, 0].permute(0, 2, 1, 3)
        k = full[:, :, 1].permute(0, 2, 3, 1)
        v = full[:, :, 2].permute(0, 2, 1, 3)
        scores = q @ k / math.sqrt(d) + bias
        o = (torch.softmax(scores, -1) @ v).permute(0, 2, 1, 3).reshape(B * S, H)[rows]
        residual = h
        if i == m["layers"] - 1:
            o, residual = o[subset], h[subset]
        a = layer_norm(linear(o, p, pre + "attention.out_proj") + residual, p, pre + "attention_norm", eps)
        g = a @ p[pre + "mlp.gated_layers.weight"].T
        u = F.gelu(g[:, :I]) * g[:, I:]  # exact erf GELU on the first half
        h = layer_norm(linear(u, p, pre + "mlp.wo") + a, p, pre + "mlp_norm", eps)

    # BertModel: the masked rows among the subset rows, then BertOnlyMLMHead.
    sel = masked[rows][subset]
    t = h[sel]
    t = layer_norm(F.gelu(linear(t, p, "mlm_head.dense")), p, "mlm_head.norm", eps)
    logits = t @ word.T + p["mlm_head.decoder_bias"]
    return F.cross_entropy(logits, labels.flatten()[masked])


def main():
    ckpt_path, batch_path, out_path = sys.argv[1:4]
    cfg, params = load_checkpoint(ckpt_path)
    with h5py.File(batch_path, "r") as f:
        read = lambda k: torch.tensor(np.asarray(f[k], dtype=np.int64))  # noqa: E731
        input_ids, attention_mask, labels = read("input_ids"), read("attention_mask"), read("labels")
        token_type_ids = read("token_type_ids") if "token_type_ids" in f else None
    loss = forward_loss(params, cfg, input_ids, attention_mask, labels, token_type_ids)
    write_loss_and_grads(out_path, loss, params)


if __name__ == "__main__":
    main()
