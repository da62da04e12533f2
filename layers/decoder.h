// Decoder: a causal language model (embed_tokens, layers.N, norm, lm_head) whose blocks
// follow the model's layout (layers/block.h), with Hugging Face Llama parameter names
// minus the "model." prefix.
#pragma once
#include <vector>

#include "core/rng.h"
#include "layers/block.h"
#include "layers/causal_lm.h"
#include "layers/embedding.h"
#include "layers/module_list.h"

namespace linea {

class Decoder : public CausalLM {
 public:
  // `m` must be a validated recipe's model section (configs/ validates). Norm weights
  // start at 1, everything else at 0: call init_parameters or load a checkpoint.
  explicit Decoder(const ModelConfig& m, Device device = Device::cpu(), DType dtype = DType::f32);
  const ModelConfig& config() const { return m_; }
  // Activation checkpointing: re-run each block in backward (train.recompute).
  void set_recompute(bool on) { recompute_ = on; }
  bool recompute() const { return recompute_; }

  // normal(0, init_std) for linear and embedding weights, with each mixer's output
  // projection (o_proj, down_proj: the residual outputs) scaled by 1 / sqrt(2 * layers);
  // norm weights 1 (no layer has a bias).
  void init_parameters(Generator& gen);

  Variable forward(const Tensor& ids) override;
  int64_t vocab_size() const override { return m_.vocab_size; }
  int64_t max_seq_len() const override { return m_.max_seq_len; }
  DecodingState new_decoding_state(int64_t batch) const override;
  Variable decode(const Tensor& ids, DecodingState& state, const std::vector<int64_t>& lengths = {}) override;

  // Training FLOPs per token at sequence length seq_len (0: max_seq_len), PaLM's
  // 6 N + 12 L H Q T (appendix B): N counts the weights of every matmul (each layer's
  // mixers and the vocab x hidden output projection, tied or not; not the embedding lookup
  // or norms), 12 L H Q T the attention scores and values, over the full T x T square as
  // PaLM does (T x min(T, window) with a sliding window).
  int64_t flops_per_token(int64_t seq_len = 0) const override;

  // Every layer's channel-mixer report of its last training forward (ChannelMixer::report),
  // named "layers.<i>.<name>".
  void report(std::vector<std::pair<std::string, Variable>>& aux_losses,
              std::vector<std::pair<std::string, double>>& metrics) const;

  const Embedding& embed_tokens() const { return *embed_tokens_; }
  const ModuleList<Block>& layers() const { return *layers_; }
  // The final norm of pre-norm models (post-norm blocks end normalized); null otherwise.
  const Norm* norm() const { return norm_.get(); }
  // The output projection: lm_head.weight, or embed_tokens.weight when tied.
  const Variable& output_weight() const;
  // The RoPE and ALiBi tables its layers share (a caller running the blocks itself, as
  // attention transfer does, passes them in its SequenceContext).
  PositionTables& position_tables() { return positions_; }

 private:
  // ids [B,T] through the blocks with `ctx` (B, T set here) -> logits [B,T,vocab].
  Variable run(const Tensor& ids, SequenceContext ctx, DecodingState* state);

  ModelConfig m_;
  bool recompute_ = false;
  Child<Embedding> embed_tokens_;
  Child<ModuleList<Block>> layers_;
  Child<Norm> norm_;       // null for post-norm
  Child<Linear> lm_head_;  // null when tied
  PositionTables positions_;
};

}  // namespace linea
