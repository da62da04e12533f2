#include "layers/attention_transfer.h"

#include <cmath>
#include <limits>
#include <vector>

#include "autograd/ops/attention.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/matmul.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/softmax.h"
#include "autograd/ops/views.h"
#include "autograd/ops/where.h"
#include "layers/hedgehog_window_attention.h"

namespace linea {
namespace {

// The teacher's causal softmax rows [B, H, T, T] over the layer's q, k (no gradient).
Tensor teacher_weights(const HedgehogWindowAttention::Heads& h) {
  NoGradGuard no_grad;
  const int64_t T = h.q.size(2);
  std::vector<double> future(size_t(T * T), 0.0);
  for (int64_t i = 0; i < T; ++i)
    for (int64_t j = i + 1; j < T; ++j) future[size_t(i * T + j)] = 1.0;
  const Tensor mask = Tensor::from_vector(future, {T, T}, DType::u8).to(h.q.device());
  const Variable s = scale(matmul(h.q, h.k, false, true), 1.0 / std::sqrt(double(h.q.size(3))));
  return softmax(masked_fill(s, mask, -std::numeric_limits<double>::infinity())).data();
}

// mean over rows of log Σ_k p_rk − Σ_j A*_rj log p_rj, with p = max(A, 1e-12).
Variable weight_cross_entropy(const Variable& student, const Tensor& teacher) {
  const Variable p = clamp(student, 1e-12, std::numeric_limits<double>::infinity());
  const Variable logp = log(p);
  return mean(log(sum(p, {3})) - sum(Variable(teacher) * logp, {3}));
}

Variable mean_of(const std::vector<Variable>& xs) {
  Variable total = xs[0];
  for (size_t i = 1; i < xs.size(); ++i) total = total + xs[i];
  return scale(total, 1.0 / double(xs.size()));
}

}  // namespace

TransferLoss attention_transfer_loss(Decoder& model, const Tensor& ids, double mse_factor, double xent_factor) {
  const ModelConfig& m = model.config();
  LINEA_CHECK_T(ConfigError, m.norm.position == NormPosition::pre, "attention transfer: pre-norm decoders only");
  LINEA_CHECK(ids.dim() == 2, "attention transfer: expected ids [B, T], got ", ids.desc());
  SequenceContext ctx;
  ctx.B = ids.size(0);
  ctx.T = ids.size(1);
  ctx.positions = &model.position_tables();
  TransferLoss r;
  std::vector<Variable> mse, xent;
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
      if (xent_factor > 0) {
        xent.push_back(weight_cross_entropy(hybrid->weights(heads, ctx), teacher_weights(heads)));
        r.layer_xent.push_back(xent.back().data().item());
      }
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
  r.loss = scale(mean_of(mse), mse_factor);
  if (!xent.empty()) r.loss = r.loss + scale(mean_of(xent), xent_factor);
  return r;
}

}  // namespace linea
