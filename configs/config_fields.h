// The recipe schema in one place: every key of Config in YAML order, walked by the reader,
// the YAML writer and the model diff. A visitor V provides field(name, value),
// section(name, fn()) and optional_section(name, std::optional<T>&, fn(visitor, T&)).
#pragma once
#include "configs/config.h"

namespace linea {

// T is the struct or its const form, so one walk serves reading and writing.
template <class V, class T>
void visit_rope_scaling(V& v, T& c) {
  v.field("factor", c.factor);
  v.field("low_freq_factor", c.low_freq_factor);
  v.field("high_freq_factor", c.high_freq_factor);
  v.field("original_max_position_embeddings", c.original_max_position_embeddings);
}

template <class V, class T>
void visit_model(V& v, T& c) {
  v.field("kind", c.kind);
  v.field("vocab_size", c.vocab_size);
  v.field("hidden", c.hidden);
  v.field("layers", c.layers);
  v.field("heads", c.heads);
  v.field("kv_heads", c.kv_heads);
  v.section("ffn", [&] {
    v.field("kind", c.ffn.kind);
    v.field("hidden", c.ffn.hidden);
  });
  v.section("norm", [&] {
    v.field("kind", c.norm.kind);
    v.field("eps", c.norm.eps);
    v.field("position", c.norm.position);
  });
  v.section("attention", [&] {
    v.field("kind", c.attention.kind);
    v.field("positions", c.attention.positions);
    v.field("rope_theta", c.attention.rope_theta);
    v.optional_section("rope_scaling", c.attention.rope_scaling,
                       [](auto& inner, auto& scaling) { visit_rope_scaling(inner, scaling); });
  });
  v.field("layer_pattern", c.layer_pattern);
  v.field("tie_embeddings", c.tie_embeddings);
  v.field("dropout", c.dropout);
  v.field("init_std", c.init_std);
  v.field("max_seq_len", c.max_seq_len);
  v.field("type_vocab_size", c.type_vocab_size);
  v.field("unpad", c.unpad);
}

template <class V, class T>
void visit_task(V& v, T& c) {
  v.field("name", c.name);
  v.field("data_dir", c.data_dir);
  v.field("init_from", c.init_from);
  v.field("classifier_dropout", c.classifier_dropout);
  v.field("pad_to_longest", c.pad_to_longest);
}

template <class V, class T>
void visit_config(V& v, T& c) {
  v.field("seed", c.seed);
  v.section("model", [&] { visit_model(v, c.model); });
  v.section("data", [&] {
    v.field("train", c.data.train);
    v.field("valid", c.data.valid);
    v.field("seq_len", c.data.seq_len);
    v.field("objective", c.data.objective);
    v.field("tokenizer", c.data.tokenizer);
    v.field("mask_document_boundaries", c.data.mask_document_boundaries);
    v.section("mlm", [&] {
      v.field("mask_ratio", c.data.mlm.mask_ratio);
      v.field("eval_mask_ratio", c.data.mlm.eval_mask_ratio);
      v.field("whole_word", c.data.mlm.whole_word);
      v.field("per_document", c.data.mlm.per_document);
    });
  });
  v.section("optim", [&] {
    v.field("kind", c.optim.kind);
    v.field("lr", c.optim.lr);
    v.field("betas", c.optim.betas);
    v.field("eps", c.optim.eps);
    v.field("weight_decay", c.optim.weight_decay);
    v.field("grad_clip", c.optim.grad_clip);
    v.field("momentum", c.optim.momentum);
    v.field("no_decay", c.optim.no_decay);
  });
  v.section("schedule", [&] {
    v.field("kind", c.schedule.kind);
    v.field("warmup_steps", c.schedule.warmup_steps);
    v.field("min_lr_ratio", c.schedule.min_lr_ratio);
    v.field("decay_steps", c.schedule.decay_steps);
    v.field("plateau_patience", c.schedule.plateau_patience);
    v.field("plateau_factor", c.schedule.plateau_factor);
  });
  v.section("train", [&] {
    v.field("steps", c.train.steps);
    v.field("batch_size", c.train.batch_size);
    v.field("micro_batch_size", c.train.micro_batch_size);
    v.field("log_every", c.train.log_every);
    v.field("eval_every", c.train.eval_every);
    v.field("eval_batches", c.train.eval_batches);
    v.field("ckpt_every", c.train.ckpt_every);
    v.field("keep_checkpoints", c.train.keep_checkpoints);
    v.field("precision", c.train.precision);
    v.field("device", c.train.device);
    v.field("threads", c.train.threads);
  });
  v.section("dist", [&] {
    v.field("backend", c.dist.backend);
    v.field("bucket_mb", c.dist.bucket_mb);
    v.field("shard_optimizer", c.dist.shard_optimizer);
    v.field("timeout_s", c.dist.timeout_s);
  });
  v.optional_section("task", c.task, [](auto& inner, auto& t) { visit_task(inner, t); });
}

}  // namespace linea
