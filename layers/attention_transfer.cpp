#include "layers/attention_transfer.h"

#include <cmath>

#include "autograd/ops/attention.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/views.h"
#include "layers/hedgehog_window_attention.h"

namespace linea {

TransferLoss attention_transfer_loss(Decoder& model, const Tensor& ids, double mse_factor) {
  const ModelConfig& m = model.config();
  LINEA_CHECK_T(ConfigError, m.norm.position == NormPosition::pre, "attention transfer: pre-norm decoders only");
  LINEA_CHECK(ids.dim() == 2, "attention transfer: expected ids [B, T], got ", ids.desc());
  SequenceContext ctx;
  ctx.B = ids.size(0);
  ctx.T = ids.size(1);
  ctx.positions = &model.position_tables();
  TransferLoss r;
  std::vector<Variable> mse;
  Variable x;
  {
    NoGradGuard no_grad;
    x = reshape(model.embed_tokens().forward(ids), {ctx.B * ctx.T, m.hidden});
    if (m.scale_embeddings) x = scale(x, std::sqrt(double(m.hidden)));
  }
  for (size_t i = 0; i < model.layers().size(); ++i) {
    const Block& block = model.layers()[i];
    const auto* hybrid = dynamic_cast<const HedgehogWindowAttention*>(&block.mixer());
    Variable mixed;
    if (hybrid) {
      HedgehogWindowAttention::Heads heads;
      Variable teacher;
      {
        NoGradGuard no_grad;
        heads = hybrid->heads(block.mixer_norm().forward(x), ctx);
        kernels::AttentionOptions causal;
        causal.causal = true;
        teacher = scaled_dot_product_attention(heads.q, heads.k, heads.v, causal);
      }
      const Variable student = hybrid->attend(heads, ctx);  // gradients reach the maps and θ
      const Variable diff = student - teacher;
      mse.push_back(mean(diff * diff));
      r.layer_mse.push_back(mse.back().data().item());
      NoGradGuard no_grad;
      mixed = hybrid->project_out(teacher, ctx);
    } else {
      NoGradGuard no_grad;
      mixed = block.mixer().forward(block.mixer_norm().forward(x), ctx);
    }
    NoGradGuard no_grad;
    x = x + mixed;
    x = x + block.ffn().forward(block.ffn_norm().forward(x));
  }
  LINEA_CHECK_T(ConfigError, !mse.empty(), "attention transfer: the model has no hedgehog_window layer to teach");
  Variable total = mse[0];
  for (size_t i = 1; i < mse.size(); ++i) total = total + mse[i];
  r.loss = scale(total, mse_factor / double(mse.size()));
  return r;
}

}  // namespace linea
