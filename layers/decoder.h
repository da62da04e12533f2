// Decoder: the Llama-style causal language model (embed_tokens, layers.N, norm, lm_head)
// with Hugging Face parameter names minus the "model." prefix.
#pragma once
#include <vector>

#include "core/rng.h"
#include "layers/causal_lm.h"
#include "layers/decoder_block.h"
#include "layers/embedding.h"
#include "layers/module_list.h"

namespace linea {

class Decoder : public CausalLM {
 public:
  // Validates `opt` (ConfigError). Norm weights start at 1, everything else at 0: call
  // init_parameters or load a checkpoint before training.
  explicit Decoder(const DecoderOptions& opt, Device device = Device::cpu(), DType dtype = DType::f32);
  const DecoderOptions& options() const { return opt_; }

  // normal(0, init_std) for linear and embedding weights, with o_proj and down_proj
  // (the residual outputs) scaled by 1 / sqrt(2 * layers); norm weights 1 (no layer has a bias).
  void init_parameters(Generator& gen);

  Variable forward(const Tensor& ids) override;
  int64_t vocab_size() const override { return opt_.vocab; }
  int64_t max_seq_len() const override { return opt_.max_seq_len; }

  // Training FLOPs per token at sequence length seq_len (0: max_seq_len), PaLM's
  // 6 N + 12 L H Q T (appendix B): N counts the weights of every matmul (the q/k/v/o and
  // MLP projections and the vocab x hidden output projection, tied or not; not the
  // embedding lookup or norms), 12 L H Q T is the attention scores and values
  // (H Q = heads * head_dim = hidden), counted over the full T x T square as PaLM does
  // (T x min(T, window) with a sliding window).
  int64_t flops_per_token(int64_t seq_len = 0) const override;

  const Embedding& embed_tokens() const { return *embed_tokens_; }
  const ModuleList<DecoderBlock>& layers() const { return *layers_; }
  const RMSNorm& norm() const { return *norm_; }
  // The output projection: lm_head.weight, or embed_tokens.weight when tied.
  const Variable& output_weight() const;

 private:
  // cos/sin [T, head_dim/2] on `device`: one table per device, grown to the longest T
  // asked for and narrowed to T.
  kernels::RopeTables rope_tables(int64_t T, Device device);

  DecoderOptions opt_;
  Child<Embedding> embed_tokens_;
  Child<ModuleList<DecoderBlock>> layers_;
  Child<RMSNorm> norm_;
  Child<Linear> lm_head_;  // null when tied
  std::vector<std::pair<Device, kernels::RopeTables>> rope_cache_;
};

}  // namespace linea
