// CausalLM: what evaluation, generation and training need from a causal language model,
// whatever its blocks are made of (Decoder today; hybrids and linearized models next).
#pragma once
#include <cstdint>

#include "layers/module.h"

namespace linea {

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
};

}  // namespace linea
