// The recipe schema in one place: every key of Config in YAML order with a one-line
// description, walked by the reader, the YAML writer, the model diff and the key reference
// (`linea config --keys`). A visitor V provides field(name, value, doc), section(name, fn()),
// optional_section(name, std::optional<T>&, doc, fn(visitor, T&)) and
// list_section(name, std::vector<T>&, doc, make_default(), fn(visitor, T&)) for a list of
// maps, each element starting from make_default() before its keys are read.
#pragma once
#include "configs/config.h"

namespace linea {

// T is the struct or its const form, so one walk serves reading and writing.
template <class V, class T>
void visit_rope_scaling(V& v, T& c) {
  v.field("factor", c.factor, "context extension factor, >= 1");
  v.field("low_freq_factor", c.low_freq_factor, "frequencies of wavelengths above original / low_freq_factor are divided by factor");
  v.field("high_freq_factor", c.high_freq_factor, "frequencies of wavelengths below original / high_freq_factor are kept; > low_freq_factor");
  v.field("original_max_position_embeddings", c.original_max_position_embeddings, "context length the model was pretrained on");
}

// Kimi Delta Attention's options (specs/kimi_linear.md §1).
template <class V, class T>
void visit_kda(V& v, T& c) {
  v.field("head_dim", c.head_dim, "kda: K, the q/k head width; 0: hidden / heads");
  v.field("value_dim", c.value_dim, "kda: V, the value head width; 0: head_dim");
  v.field("value_heads", c.value_heads, "kda: value heads, a multiple of heads (grouped value heads); 0: heads");
  v.field("gate_rank", c.gate_rank, "kda: rank of the low-rank decay and output gates; 0: value_dim");
  v.field("decay", c.decay, "kda: per_channel (KDA) or per_head (one scalar per value head: Gated DeltaNet)");
  v.field("delta_rule", c.delta_rule, "kda: the delta rule; false gives gated linear attention (the no-delta baseline)");
  v.field("conv_size", c.conv_size, "kda: taps of the short causal conv on q, k and v (Kimi: 4); 0: none");
  v.field("chunk", c.chunk, "kda: rows per chunk of the chunkwise kernel: 16, 32 or 64");
  v.field("gate_lower_bound", c.gate_lower_bound,
          "kda: lb in [-5, 0) for fla's lower-bound gate g = lb sigmoid(exp(A_log) (a + dt_bias)); 0: Kimi's unbounded "
          "gate -exp(A_log) softplus(a + dt_bias)");
  v.section("output_gate", [&] {
    v.field("rank", c.output_gate.rank, "kda: output gate low rank (Kimi), full (the GDN baseline) or none");
    v.field("act", c.output_gate.act, "kda: output gate activation sigmoid (Kimi, GDN-H) or swish (fla's GDN layer)");
  });
}

// A token mixer's options (model.attention, and each layout group's and pattern entry's).
template <class V, class T>
void visit_attention(V& v, T& c) {
  v.field("kind", c.kind, "token mixer kind");
  v.field("positions", c.positions, "position encoding");
  v.field("rope_theta", c.rope_theta, "RoPE base frequency, > 0");
  v.field("window", c.window,
          "softmax, causal: sliding window, query i attends to the keys i - window < j <= i; 0: all earlier keys. "
          "hedgehog_window: the softmax window w (0: pure linear attention)");
  v.optional_section("rope_scaling", c.rope_scaling, "Llama-3 style RoPE frequency scaling; null: plain RoPE",
                     [](auto& inner, auto& scaling) { visit_rope_scaling(inner, scaling); });
  v.field("feature_map", c.feature_map,
          "lightning, norm_linear: kernel φ on q and k (lightning: silu as TNL's checkpoints, or none; norm_linear: "
          "elu (TransNormer T1) or elu_plus_one (T2))");
  v.field("block", c.block, "diag_block: rows per block; attention stays inside each block (TransNormer v1: 64)");
  v.field("scores", c.scores, "diag_block: softmax of q k^T / sqrt(d) (T2) or relu of them, then SimpleRMSNorm (T1)");
  v.field("window_layout", c.window_layout,
          "hedgehog_window: terrace (the current and previous block of `window` keys; LoLCATs' main results) or "
          "sliding (the `window` most recent keys)");
  v.field("feature_kind", c.feature_kind,
          "hedgehog_window: per-head feature maps hedgehog [softmax(xW), softmax(-xW)] or t2r relu(xW + b)");
  v.field("feature_dim", c.feature_dim, "hedgehog_window: columns of each head's map W [head_dim, feature_dim], > 0");
  v.field("init_window_logit", c.init_window_logit,
          "hedgehog_window: initial window factor θ; the window's weight is sigmoid(θ) (-2.197...: 0.1)");
  v.field("affine_factors", c.affine_factors, "hedgehog_window: the linear term's weight is 1 - sigmoid(θ) instead of 1");
  v.section("kda", [&] { visit_kda(v, c.kda); });
  v.section("mla", [&] {
    v.field("kv_lora_rank", c.mla.kv_lora_rank, "mla: width of the compressed latent c (Kimi: 512)");
    v.field("nope_head_dim", c.mla.nope_head_dim, "mla: per-head key/query width from the latent (Kimi: 128)");
    v.field("rope_head_dim", c.mla.rope_head_dim, "mla: width of the key slot shared by all heads, unrotated (Kimi: 64)");
    v.field("v_head_dim", c.mla.v_head_dim, "mla: per-head value width (Kimi: 128)");
    v.field("qk_clip_tau", c.mla.qk_clip_tau,
            "mla: QK-clip threshold (MuonClip; Kimi K2: 100): after each step, heads whose largest logit exceeded it "
            "get their q/k weights scaled down to it; 0: off");
  });
}

// A channel mixer's options.
template <class V, class T>
void visit_ffn(V& v, T& c) {
  v.field("kind", c.kind, "channel mixer: swiglu, geglu, sglu (glu without activation) or glu with `activation`");
  v.field("hidden", c.hidden, "inner width of the feed-forward block");
  v.field("activation", c.activation, "glu: activation of the gated branch, act(gate_proj x) * up_proj x");
  v.field("bias", c.bias, "swiglu, sglu, glu (and geglu in decoders): biases on the three projections (TransNormer v1)");
  v.section("moe", [&] {
    v.field("experts", c.moe.experts, "moe: routed experts, each a SwiGLU of width ffn.hidden");
    v.field("top_k", c.moe.top_k, "moe: experts per token, in [1, experts]");
    v.field("shared_experts", c.moe.shared_experts, "moe: SwiGLUs every token goes through (merged into one), >= 0");
    v.field("routed_scaling", c.moe.routed_scaling, "moe: factor on the routed experts' weights (Kimi-Linear-48B: 2.446)");
    v.field("renormalize", c.moe.renormalize, "moe: the chosen experts' sigmoid scores are renormalized to sum 1");
    v.field("bias_update_rate", c.moe.bias_update_rate,
            "moe: auxiliary-loss-free balancing, each expert's correction bias moves by this towards balance after "
            "every optimizer step; 0: off");
    v.field("aux_loss_alpha", c.moe.aux_loss_alpha, "moe: weight of the balance loss alpha E sum_e f_e P_e; 0: none");
  });
}

template <class V, class T>
void visit_layer_spec(V& v, T& c) {
  v.section("attention", [&] { visit_attention(v, c.attention); });
  v.section("ffn", [&] { visit_ffn(v, c.ffn); });
}

template <class V, class T>
void visit_model(V& v, T& c) {
  v.field("kind", c.kind, "causal language model (decoder) or BERT-style masked LM (encoder)");
  v.field("vocab_size", c.vocab_size, "embedding rows; must fit the shards' vocabulary");
  v.field("hidden", c.hidden, "model width");
  v.field("layers", c.layers, "number of blocks");
  v.field("heads", c.heads, "attention heads; must divide hidden");
  v.field("kv_heads", c.kv_heads, "key/value heads; must divide heads (grouped-query attention when fewer)");
  v.section("ffn", [&] { visit_ffn(v, c.ffn); });
  v.section("norm", [&] {
    v.field("kind", c.norm.kind, "normalization layer");
    v.field("eps", c.norm.eps, "added to the variance, > 0");
    v.field("position", c.norm.position, "pre-norm (Llama) or post-norm (original BERT)");
  });
  v.section("attention", [&] { visit_attention(v, c.attention); });
  v.field("layer_pattern", c.layer_pattern,
          "per-layer attention kinds, repeated over the layers; []: attention.kind everywhere (exclusive with layout)");
  // A group starts from the model's attention and ffn, a pattern entry from its group's.
  v.list_section(
      "layout", c.layout,
      "groups of consecutive layers with their own attention and ffn (keys below); []: every layer is the model's",
      [&c] { return LayerGroup{0, c.attention, c.ffn, {}}; },
      [](auto& g, auto& group) {
        g.field("layers", group.layers, "consecutive layers in this group; 0: all remaining (last group only)");
        visit_layer_spec(g, group);
        g.list_section("pattern", group.pattern,
                       "specs cycled over the group's layers (keys as attention and ffn above); []: the group's own",
                       [&group] { return LayerSpec{group.attention, group.ffn}; },
                       [](auto& p, auto& spec) { visit_layer_spec(p, spec); });
      });
  v.field("tie_embeddings", c.tie_embeddings, "output projection shares the token embedding");
  v.field("scale_embeddings", c.scale_embeddings, "decoder: token embeddings times sqrt(hidden) (TransNormerLLM, Gemma)");
  v.field("absolute_positions", c.absolute_positions,
          "decoder: none, or sinusoidal (fairseq's sinusoids from position 2, added after the scaling: TransNormer v1's LM)");
  v.field("dropout", c.dropout, "dropout probability, in [0, 1)");
  v.field("init_std", c.init_std, "standard deviation of the normal init, > 0");
  v.field("max_seq_len", c.max_seq_len, "longest sequence the model accepts; data.seq_len must fit");
  v.field("type_vocab_size", c.type_vocab_size, "encoder: token type (segment A / B) embeddings");
  v.field("unpad", c.unpad, "encoder: compute on real tokens only; false runs every op on all B x T rows");
  v.optional_section("lora", c.lora, "LoRA adapters on every layer's `targets` projections; null: none",
                     [](auto& inner, auto& l) {
                       inner.field("r", l.r, "rank, > 0");
                       inner.field("alpha", l.alpha, "the update is scaled by alpha / r, > 0");
                       inner.field("dropout", l.dropout, "dropout on the adapter's input, in [0, 1)");
                       inner.field("targets", l.targets, "projections of each layer's token mixer to adapt (by name)");
                     });
}

template <class V, class T>
void visit_task(V& v, T& c) {
  v.field("name", c.name, "GLUE task: cola, sst2, mrpc, qqp, qnli, rte, mnli or stsb");
  v.field("data_dir", c.data_dir, "folder holding the task's train.tsv and dev file(s)");
  v.field("init_from", c.init_from, "checkpoint to start from (pretraining or fine-tuned); null: random init");
  v.field("classifier_dropout", c.classifier_dropout, "dropout after the pooler's tanh, in [0, 1)");
  v.field("pad_to_longest", c.pad_to_longest, "pad each batch to its longest row instead of data.seq_len");
}

template <class V, class T>
void visit_config(V& v, T& c) {
  v.field("seed", c.seed, "seed of initialization, data order, masks and dropout");
  v.section("model", [&] { visit_model(v, c.model); });
  v.section("data", [&] {
    v.field("train", c.data.train, "folder of HDF5 token shards from `linea prepare`");
    v.field("valid", c.data.valid, "folder of validation token shards");
    v.field("seq_len", c.data.seq_len, "tokens per example, > 0 and <= model.max_seq_len");
    v.field("objective", c.data.objective,
            "causal LM (decoder), masked LM (encoder), GLUE classification (encoder, task: section) or "
            "attention_transfer (decoder with hedgehog_window layers: LoLCATs stage 1)");
    v.field("tokenizer", c.data.tokenizer, "tokenizer model path; null: the one the shards were prepared with");
    v.field("mask_document_boundaries", c.data.mask_document_boundaries,
            "causal: no loss on predicting a document's first token from the previous document");
    v.section("mlm", [&] {
      v.field("mask_ratio", c.data.mlm.mask_ratio, "training selection probability per non-special token, in (0, 1)");
      v.field("eval_mask_ratio", c.data.mlm.eval_mask_ratio, "selection probability for validation and `linea eval`, in (0, 1)");
      v.field("whole_word", c.data.mlm.whole_word, "select whole words (a token and its ## continuations)");
      v.field("per_document", c.data.mlm.per_document, "one document per example, truncated; false packs the token stream");
    });
  });
  v.section("optim", [&] {
    v.field("kind", c.optim.kind,
            "adamw: torch's AdamW; decoupled_adamw: Composer's (decay not scaled by the peak lr); sgd with momentum");
    v.field("lr", c.optim.lr, "peak learning rate, >= 0");
    v.field("betas", c.optim.betas, "adamw: moment decay rates, each in [0, 1)");
    v.field("eps", c.optim.eps, "adamw: denominator term, > 0");
    v.field("weight_decay", c.optim.weight_decay, "decoupled weight decay, >= 0");
    v.field("grad_clip", c.optim.grad_clip, "global gradient-norm limit; 0 disables clipping");
    v.field("momentum", c.optim.momentum, "sgd: momentum, in [0, 1)");
    v.field("no_decay", c.optim.no_decay, "parameters whose dotted name contains any of these get no weight decay");
    v.field("muon_momentum", c.optim.muon_momentum, "muon: momentum of the matrices' update, in [0, 1)");
    v.field("muon_nesterov", c.optim.muon_nesterov, "muon: Nesterov momentum (Moonlight: true)");
    v.field("muon_ns_steps", c.optim.muon_ns_steps, "muon: Newton-Schulz iterations, >= 1");
    v.field("adamw_params", c.optim.adamw_params,
            "muon: matrices whose dotted name contains any of these are trained by AdamW (embeddings, head, router)");
  });
  v.section("schedule", [&] {
    v.field("kind", c.schedule.kind, "learning-rate schedule after warmup");
    v.field("warmup_steps", c.schedule.warmup_steps,
            "linear warmup from 0 to lr; a decaying schedule's is shortened to train.steps / 10 when not shorter than the run");
    v.field("min_lr_ratio", c.schedule.min_lr_ratio, "floor of the decay as a fraction of lr, in [0, 1]");
    v.field("decay_steps", c.schedule.decay_steps, "wsd: length of the final decay, <= train.steps");
    v.field("plateau_patience", c.schedule.plateau_patience, "plateau: evaluations without improvement before a cut, >= 1");
    v.field("plateau_factor", c.schedule.plateau_factor, "plateau: lr multiplier per cut, in (0, 1)");
  });
  v.section("train", [&] {
    v.field("steps", c.train.steps, "optimizer steps, >= 0");
    v.field("batch_size", c.train.batch_size, "global sequences per optimizer step");
    v.field("micro_batch_size", c.train.micro_batch_size, "sequences per rank per forward; ranks x it must divide batch_size");
    v.field("log_every", c.train.log_every, "steps between metrics lines, >= 1");
    v.field("eval_every", c.train.eval_every, "steps between evaluations; 0: never");
    v.field("eval_batches", c.train.eval_batches, "validation batches per evaluation, >= 0");
    v.field("ckpt_every", c.train.ckpt_every, "steps between checkpoints; 0: only at the end");
    v.field("keep_checkpoints", c.train.keep_checkpoints, "checkpoints kept in the run directory, >= 2 (1 is raised to 2)");
    v.field("precision", c.train.precision, "dtype of the parameters and activations");
    v.field("device", c.train.device, "where the model runs; under mpirun each rank takes cuda:<local rank>");
    v.field("threads", c.train.threads, "CPU threads; 0: all cores");
    v.field("recompute", c.train.recompute, "re-run each block's forward in backward: less activation memory, more compute");
    v.field("init_from", c.train.init_from,
            "checkpoint whose model weights start a new run (e.g. from linea import); null: random init");
    v.field("trainable", c.train.trainable,
            "globs over parameter names (Module::freeze's: '*' spans dots); only matches train; []: every parameter");
    v.field("keep_best", c.train.keep_best, "also keep checkpoints/best.h5, the lowest validation loss so far");
    v.field("stop_at_accuracy", c.train.stop_at_accuracy,
            "in (0, 1): stop after the first evaluation whose example accuracy exceeds it (synthetic tasks; Zoology's "
            "0.99); 0: never");
  });
  v.section("transfer", [&] {
    v.field("mse_factor", c.transfer.mse_factor,
            "attention_transfer: weight of the mean squared error of per-head attention outputs, >= 0");
    v.field("xent_factor", c.transfer.xent_factor,
            "attention_transfer: weight of the attention-weight cross-entropy, >= 0 (LoLCATs: 0 for 7B/8B, 1 for 405B; O(T^2) memory)");
  });
  v.section("dist", [&] {
    v.field("backend", c.dist.backend, "gradient all-reduce: auto is NCCL on GPUs, MPI on CPUs");
    v.field("bucket_mb", c.dist.bucket_mb, "gradient all-reduce bucket size in MB, > 0");
    v.field("shard_optimizer", c.dist.shard_optimizer, "ZeRO-1: the optimizer state partitioned across ranks");
    v.field("timeout_s", c.dist.timeout_s, "a collective waiting longer ends the job, > 0");
  });
  v.optional_section("task", c.task, "GLUE fine-tuning (data.objective: classification); null when not fine-tuning",
                     [](auto& inner, auto& t) { visit_task(inner, t); });
}

}  // namespace linea
