// Decoder: construction, initialization, forward, loss and the FLOPs count.
#include "layers/decoder.h"

#include <algorithm>
#include <cmath>

#include "autograd/checkpoint.h"
#include "autograd/ops/matmul.h"
#include "autograd/ops/views.h"

namespace linea {

Decoder::Decoder(const DecoderOptions& opt, Device device, DType dtype) : opt_(opt) {
  opt_.validate();
  embed_tokens_ = register_module("embed_tokens", std::make_shared<Embedding>(opt.vocab, opt.hidden, device, dtype));
  layers_ = register_module("layers", std::make_shared<ModuleList<DecoderBlock>>());
  for (int64_t i = 0; i < opt.layers; ++i) layers_->append(std::make_shared<DecoderBlock>(opt, device, dtype));
  norm_ = register_module("norm", std::make_shared<RMSNorm>(opt.hidden, opt.norm_eps, device, dtype));
  if (!opt.tie_embeddings)
    lm_head_ = register_module("lm_head", std::make_shared<Linear>(opt.hidden, opt.vocab, false, device, dtype));
}

const Variable& Decoder::output_weight() const {
  return lm_head_ ? lm_head_->weight() : embed_tokens_->weight();
}

void Decoder::init_parameters(Generator& gen) {
  const double residual_std = opt_.init_std / std::sqrt(2.0 * double(opt_.layers));
  for (auto& [name, m] : named_modules()) {
    if (auto* lin = dynamic_cast<Linear*>(m)) {
      const bool residual = glob_match("*.o_proj", name) || glob_match("*.down_proj", name);
      normal_(lin->weight().data(), gen, 0.0, residual ? residual_std : opt_.init_std);
    } else if (auto* emb = dynamic_cast<Embedding*>(m)) {
      normal_(emb->weight().data(), gen, 0.0, opt_.init_std);
    } else if (auto* rms = dynamic_cast<RMSNorm*>(m)) {
      Tensor w = rms->weight().data();
      w.fill_(1.0);
    }
  }
}

kernels::RopeTables Decoder::rope_tables(int64_t T, Device device) {
  auto it = rope_cache_.begin();
  while (it != rope_cache_.end() && it->first != device) ++it;
  if (it == rope_cache_.end() || it->second.cos.size(0) < T) {
    const kernels::RopeScaling* scaling = opt_.rope_scaling ? &*opt_.rope_scaling : nullptr;
    kernels::RopeTables fresh = kernels::rope_tables(T, opt_.head_dim(), opt_.rope_theta, scaling, device);
    if (it == rope_cache_.end()) {
      rope_cache_.emplace_back(device, fresh);
      it = rope_cache_.end() - 1;
    } else {
      it->second = fresh;
    }
  }
  return {it->second.cos.narrow(0, 0, T), it->second.sin.narrow(0, 0, T)};
}

Variable Decoder::forward(const Tensor& ids) {
  LINEA_CHECK(ids.dim() == 2, "Decoder::forward: expected ids [B, T], got ", ids.desc());
  const int64_t T = ids.size(1);
  LINEA_CHECK(T <= opt_.max_seq_len, "Decoder::forward: sequence length ", T, " exceeds max_seq_len ",
              opt_.max_seq_len);
  const kernels::RopeTables rope = rope_tables(T, embed_tokens_->weight().device());
  Variable x = embed_tokens_->forward(ids);
  for (size_t i = 0; i < layers_->size(); ++i) {
    const DecoderBlock& block = (*layers_)[i];
    if (opt_.recompute && grad_mode_enabled()) {
      x = checkpoint([&block, rope](const std::vector<Variable>& in) {
            return std::vector<Variable>{block.forward(in[0], rope.cos, rope.sin)};
          }, {x})[0];
    } else {
      x = block.forward(x, rope.cos, rope.sin);
    }
  }
  return linear(norm_->forward(x), output_weight());
}

int64_t Decoder::flops_per_token(int64_t seq_len) const {
  const int64_t T = seq_len > 0 ? seq_len : opt_.max_seq_len;
  const int64_t C = opt_.hidden, kv = opt_.kv_heads * opt_.head_dim();
  const int64_t per_layer = C * C + 2 * C * kv + C * C + 3 * C * opt_.ffn_hidden;
  const int64_t n_matmul = opt_.layers * per_layer + opt_.vocab * C;
  // A sliding window bounds the keys each query scores.
  const int64_t keys = opt_.window > 0 ? std::min(T, opt_.window) : T;
  return 6 * n_matmul + 12 * opt_.layers * C * keys;
}

}  // namespace linea
