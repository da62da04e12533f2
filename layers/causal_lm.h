// CausalLM: what evaluation, generation and training need from a causal language model,
// whatever its blocks are made of (Decoder with any layout today; hybrids and linearized
// models next).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "layers/module.h"
#include "layers/sequence_context.h"

namespace linea {

// The per-layer states of a batch of sequences being decoded (KV caches, window caches,
// recurrent states), made by CausalLM::new_decoding_state.
struct DecodingState {
  std::vector<std::unique_ptr<MixerState>> layers;
  int64_t batch = 0;
  int64_t length(int64_t b) const { return layers.empty() ? 0 : layers[0]->length(b); }
};

class CausalLM : public Module {
 public:
  // ids [B,T] i32/i64 on the parameters' device, T <= max_seq_len() -> logits [B,T,vocab].
  virtual Variable forward(const Tensor& ids) = 0;
  // Mean next-token NLL over targets [B,T] (ids of the same shape) that are not
  // ignore_index, through the fused cross-entropy on logits viewed as [B*T, vocab].
  Variable loss(const Tensor& ids, const Tensor& targets, int64_t ignore_index = -100);
  virtual int64_t vocab_size() const = 0;
  // The longest sequence forward accepts.
  virtual int64_t max_seq_len() const = 0;
  // Training FLOPs per token at sequence length seq_len (0: max_seq_len()).
  virtual int64_t flops_per_token(int64_t seq_len = 0) const = 0;

  // Decoding (without gradients). An empty state for `batch` sequences.
  virtual DecodingState new_decoding_state(int64_t batch) const = 0;
  // Prefill, when `state` is empty: ids [B,T] where row b holds lengths[b] prompt tokens
  // first (lengths empty: all T), -> logits [B,T,vocab] as forward(ids) gives for each
  // row's prompt, and the state holds every prompt. Step, afterwards: ids [B,1], the next
  // token of each sequence -> logits [B,1,vocab].
  virtual Variable decode(const Tensor& ids, DecodingState& state, const std::vector<int64_t>& lengths = {}) = 0;
};

}  // namespace linea
