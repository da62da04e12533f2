// Decoder: construction, initialization, forward, decoding and the FLOPs count.
#include "layers/decoder.h"

#include <algorithm>
#include <cmath>

#include "autograd/checkpoint.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/gather.h"
#include "autograd/ops/matmul.h"
#include "autograd/ops/views.h"
#include "layers/lora_linear.h"

namespace linea {

Decoder::Decoder(const ModelConfig& m, Device device, DType dtype) : m_(m) {
  LINEA_CHECK_T(ConfigError, m.kind == ModelKind::decoder && m.vocab_size > 0 && m.hidden > 0 && m.layers > 0,
                "Decoder: needs a decoder model section with vocab_size, hidden and layers > 0");
  LINEA_CHECK_T(ConfigError, m.dropout >= 0 && m.dropout < 1, "Decoder: dropout ", m.dropout, " outside [0, 1)");
  embed_tokens_ = register_module("embed_tokens", std::make_shared<Embedding>(m.vocab_size, m.hidden, device, dtype));
  layers_ = register_module("layers", std::make_shared<ModuleList<Block>>());
  const std::vector<LayerSpec> specs = layer_specs(m);
  for (size_t i = 0; i < specs.size(); ++i)
    layers_->append(std::make_shared<Block>(specs[i], m, int64_t(i), HfLayout::llama, device, dtype));
  if (m.norm.position == NormPosition::pre) norm_ = register_module("norm", make_norm(m.norm, m.hidden, device, dtype));
  if (!m.tie_embeddings)
    lm_head_ = register_module("lm_head", std::make_shared<Linear>(m.hidden, m.vocab_size, false, device, dtype));
  if (m.lora) attach_lora(*this, m.layers, *m.lora);
}

const Variable& Decoder::output_weight() const {
  return lm_head_ ? lm_head_->weight() : embed_tokens_->weight();
}

void Decoder::init_parameters(Generator& gen) {
  const double residual_std = m_.init_std / std::sqrt(2.0 * double(m_.layers));
  std::vector<const Linear*> residual_outputs;
  for (size_t i = 0; i < layers_->size(); ++i) {
    residual_outputs.push_back(&(*layers_)[i].mixer().output_projection());
    for (const Linear* p : (*layers_)[i].ffn().output_projections()) residual_outputs.push_back(p);
  }
  for (auto& [name, m] : named_modules()) {
    if (auto* lin = dynamic_cast<Linear*>(m)) {
      const bool residual = std::find(residual_outputs.begin(), residual_outputs.end(), lin) != residual_outputs.end();
      normal_(lin->weight().data(), gen, 0.0, residual ? residual_std : m_.init_std);
      if (lin->bias().defined()) Tensor(lin->bias().data()).zero_();
      if (auto* lora = dynamic_cast<LoraLinear*>(lin)) lora->reset_lora(gen);
    } else if (auto* emb = dynamic_cast<Embedding*>(m)) {
      normal_(emb->weight().data(), gen, 0.0, m_.init_std);
    } else if (auto* norm = dynamic_cast<Norm*>(m)) {
      norm->reset_parameters();
    }
    m->init_own_parameters(gen);
  }
}

void Decoder::report(std::vector<std::pair<std::string, Variable>>& aux_losses,
                     std::vector<std::pair<std::string, double>>& metrics) const {
  for (size_t i = 0; i < layers_->size(); ++i)
    (*layers_)[i].ffn().report(str_cat("layers.", i, "."), aux_losses, metrics);
}

Variable Decoder::run(const Tensor& ids, SequenceContext ctx, DecodingState* state) {
  LINEA_CHECK(ids.dim() == 2, "Decoder: expected ids [B, T], got ", ids.desc());
  ctx.B = ids.size(0);
  ctx.T = ids.size(1);
  ctx.positions = &positions_;
  Variable x = reshape(embed_tokens_->forward(ids), {ctx.B * ctx.T, m_.hidden});
  if (m_.scale_embeddings) x = scale(x, std::sqrt(double(m_.hidden)));
  if (m_.absolute_positions == AbsolutePositions::sinusoidal) {
    // Each row's position in its sequence (a decoding step continues after the tokens seen).
    std::vector<int64_t> seen;
    for (int64_t b = 0; state && b < state->batch; ++b) seen.push_back(state->length(b));
    const Tensor rows = row_positions(ctx, seen, DType::i64, x.device()).reshape({ctx.B * ctx.T});
    int64_t longest = ctx.T;
    for (int64_t s : seen) longest = std::max(longest, s + ctx.T);
    const Tensor table = positions_.sinusoids(m_.hidden, longest, x.device(), x.dtype());
    x = x + Variable(index_select(Variable(table), 0, rows).data());
  }
  for (size_t i = 0; i < layers_->size(); ++i) {
    const Block& block = (*layers_)[i];
    if (state) ctx.state = state->layers[i].get();
    if (recompute_ && grad_mode_enabled()) {
      x = checkpoint([&block, ctx](const std::vector<Variable>& in) {
            return std::vector<Variable>{block.forward(in[0], ctx)};
          }, {x})[0];
    } else {
      x = block.forward(x, ctx);
    }
  }
  if (norm_) x = norm_->forward(x);
  return reshape(linear(x, output_weight()), {ctx.B, ctx.T, m_.vocab_size});
}

Variable Decoder::forward(const Tensor& ids) {
  LINEA_CHECK(ids.dim() != 2 || ids.size(1) <= m_.max_seq_len, "Decoder::forward: sequence length ", ids.size(1),
              " exceeds max_seq_len ", m_.max_seq_len);
  return run(ids, SequenceContext{}, nullptr);
}

DecodingState Decoder::new_decoding_state(int64_t batch) const {
  DecodingState state;
  state.batch = batch;
  for (size_t i = 0; i < layers_->size(); ++i) state.layers.push_back((*layers_)[i].mixer().new_state(batch));
  return state;
}

Variable Decoder::decode(const Tensor& ids, DecodingState& state, const std::vector<int64_t>& lengths) {
  LINEA_CHECK(!grad_mode_enabled(), "Decoder::decode runs without gradients (NoGradGuard)");
  LINEA_CHECK(ids.dim() == 2 && ids.size(0) == state.batch, "Decoder::decode: expected ids [", state.batch,
              ", T] for the state's sequences, got ", ids.desc());
  SequenceContext ctx;
  bool prefill = true;
  for (int64_t b = 0; b < state.batch; ++b) prefill = prefill && state.length(b) == 0;
  LINEA_CHECK(prefill || lengths.empty(), "Decoder::decode: prompt lengths belong to the prefill, not to a step");
  if (prefill && !lengths.empty()) {
    LINEA_CHECK(int64_t(lengths.size()) == state.batch, "Decoder::decode: ", lengths.size(), " lengths for ",
                state.batch, " sequences");
    for (int64_t l : lengths)
      LINEA_CHECK(l >= 1 && l <= ids.size(1), "Decoder::decode: prompt length ", l, " outside [1, ", ids.size(1), "]");
    ctx.segments = kernels::AttentionSegments::padded(lengths, ids.size(1));
  }
  LINEA_CHECK(prefill || ids.size(1) == 1, "Decoder::decode: a step takes one token per sequence, got ", ids.desc());
  return run(ids, ctx, &state);
}

int64_t Decoder::flops_per_token(int64_t seq_len) const {
  const int64_t T = seq_len > 0 ? seq_len : m_.max_seq_len;
  double flops = 6.0 * double(m_.vocab_size) * double(m_.hidden);
  for (size_t i = 0; i < layers_->size(); ++i)
    flops += (*layers_)[i].mixer().flops_per_token(T) + (*layers_)[i].ffn().flops_per_token();
  return int64_t(std::llround(flops));
}

}  // namespace linea
