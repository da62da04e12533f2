// TokenMixer: whatever mixes information along the sequence (softmax attention today;
// linear-attention kinds next), and ChannelMixer, whatever mixes it across channels per
// token (the GLU family; MoE next). Each kind is a Module with its own options struct
// (AttentionConfig / FfnConfig, read from YAML by the schema); make_token_mixer and
// make_channel_mixer are the one place mapping options to classes.
#pragma once
#include <memory>
#include <vector>

#include "layers/linear.h"
#include "layers/sequence_context.h"

namespace linea {

// Parameter names and biases follow a Hugging Face family where one exists: Llama
// (q_proj/k_proj/v_proj/o_proj, gate_proj/up_proj/down_proj, no biases) or BERT as
// MosaicBERT (attention.Wqkv/out_proj, mlp.gated_layers/wo, with biases).
enum class HfLayout : uint8_t { llama, bert };

class TokenMixer : public Module {
 public:
  // x [B*T, hidden] rows laid out as ctx says -> [B*T, hidden], or [S, hidden] for the
  // rows in ctx.output_rows. With ctx.state: prefill or one decoding step (SequenceContext).
  virtual Variable forward(const Variable& x, const SequenceContext& ctx) const = 0;
  // An empty decoding state for `batch` sequences, on the parameters' device.
  virtual std::unique_ptr<MixerState> new_state(int64_t batch) const = 0;
  // Training FLOPs per token at sequence length seq_len: 6 per weight of every matmul plus
  // the sequence mixing itself (PaLM's convention).
  virtual double flops_per_token(int64_t seq_len) const = 0;
  // The projection whose output is added to the residual stream (GPT-2 / Llama scale its
  // init by 1 / sqrt(2 layers)).
  virtual const Linear& output_projection() const = 0;
};

class ChannelMixer : public Module {
 public:
  virtual Variable forward(const Variable& x) const = 0;  // x [..., hidden] -> [..., hidden]
  virtual double flops_per_token() const = 0;             // 6 per weight of every matmul
  // The projections whose outputs are added to the residual stream (their init is scaled by
  // 1 / sqrt(2 layers)): the down projection, or every expert's in an MoE (as Megatron's
  // output_layer_init_method does for expert fc2).
  virtual std::vector<const Linear*> output_projections() const = 0;
  // What the last training forward adds to its micro-batch's record (an MoE's balance loss
  // and router load), named under `prefix` ("layers.3."): appended to the objective's
  // aux_losses and metrics, the same names every micro-batch. Default: nothing.
  virtual void report(const std::string& prefix, std::vector<std::pair<std::string, Variable>>& aux_losses,
                      std::vector<std::pair<std::string, double>>& metrics) const;
};

// `dropout`: the probability a kind applies inside itself (BERT's GeGLU drops its gated
// product); blocks drop what leaves the mixers.
// `layer`: the mixer's 0-based layer index (lightning's decay depends on it).
std::shared_ptr<TokenMixer> make_token_mixer(const AttentionConfig& a, const ModelConfig& m, int64_t layer,
                                             HfLayout layout, Device device, DType dtype);
std::shared_ptr<ChannelMixer> make_channel_mixer(const FfnConfig& f, const ModelConfig& m, HfLayout layout,
                                                 double dropout, Device device, DType dtype);

}  // namespace linea
