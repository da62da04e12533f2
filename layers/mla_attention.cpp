// MlaAttention: the expanded form for training and prefill, the absorbed latent form for steps.
#include "layers/mla_attention.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "autograd/ops/attention.h"
#include "autograd/ops/concat.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/gather.h"
#include "autograd/ops/matmul.h"
#include "autograd/ops/softmax.h"
#include "autograd/ops/views.h"
#include "core/dist/communicator.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/matmul.h"

namespace linea {
namespace {

// Every sequence's latent rows [c; k_s], [B, capacity, r + rope]; capacity doubles as needed.
class LatentCache : public MixerState {
 public:
  explicit LatentCache(int64_t batch) : lengths(size_t(batch), 0) {}
  int64_t length(int64_t b) const override { return lengths.at(size_t(b)); }
  bool empty() const {
    return std::all_of(lengths.begin(), lengths.end(), [](int64_t l) { return l == 0; });
  }
  void reserve(int64_t positions, int64_t width, Device device, DType dtype) {
    const int64_t have = latent.defined() ? latent.size(1) : 0;
    if (positions <= have) return;
    Tensor grown = Tensor::zeros({int64_t(lengths.size()), std::max(positions, 2 * have), width}, dtype, device);
    if (have > 0) grown.narrow(1, 0, have).copy_(latent);
    latent = grown;
  }
  Tensor latent;
  std::vector<int64_t> lengths;
};

}  // namespace

MlaAttention::MlaAttention(const AttentionConfig& a, const ModelConfig& m, Device device, DType dtype)
    : heads_(m.heads),
      rank_(a.mla.kv_lora_rank),
      nope_(a.mla.nope_head_dim),
      rope_(a.mla.rope_head_dim),
      v_dim_(a.mla.v_head_dim),
      qk_clip_tau_(a.mla.qk_clip_tau),
      max_logit_(static_cast<size_t>(m.heads), -std::numeric_limits<double>::infinity()) {
  LINEA_CHECK_T(ConfigError, heads_ > 0 && rank_ > 0 && nope_ > 0 && rope_ > 0 && v_dim_ > 0,
                "MlaAttention: heads, kv_lora_rank, nope/rope/v head dims must be positive");
  const int64_t d = m.hidden;
  q_proj_ = register_module("q_proj", std::make_shared<Linear>(d, heads_ * (nope_ + rope_), false, device, dtype));
  kv_a_proj_ = register_module("kv_a_proj_with_mqa", std::make_shared<Linear>(d, rank_ + rope_, false, device, dtype));
  kv_a_norm_ = register_module("kv_a_layernorm", make_norm(NormConfig{NormKind::rmsnorm, m.norm.eps}, rank_, device, dtype));
  kv_b_proj_ = register_module("kv_b_proj", std::make_shared<Linear>(rank_, heads_ * (nope_ + v_dim_), false, device, dtype));
  o_proj_ = register_module("o_proj", std::make_shared<Linear>(heads_ * v_dim_, d, false, device, dtype));
}

void MlaAttention::latent(const Variable& x, Variable& c, Variable& k_shared) const {
  const Variable ckv = kv_a_proj_->forward(x);
  c = kv_a_norm_->forward(slice(ckv, 1, 0, rank_));
  k_shared = slice(ckv, 1, rank_, rank_ + rope_);
}

Variable MlaAttention::forward(const Variable& x, const SequenceContext& ctx) const {
  auto* cache = static_cast<LatentCache*>(ctx.state);
  if (cache && !cache->empty()) return step(x, ctx);
  const int64_t B = ctx.B, T = ctx.T, H = heads_, Dqk = nope_ + rope_;
  LINEA_CHECK(x.dim() == 2 && x.size(0) == B * T, "MlaAttention: expected x [", B * T, ", hidden], got ", x.data().desc());
  Variable c, k_shared;
  latent(x, c, k_shared);
  const Variable q = contiguous(permute(reshape(q_proj_->forward(x), {B, T, H, Dqk}), {0, 2, 1, 3}));
  const Variable kv = reshape(kv_b_proj_->forward(c), {B, T, H, nope_ + v_dim_});
  const Variable shared = expand(reshape(k_shared, {B, T, 1, rope_}), {B, T, H, rope_});
  const Variable k = contiguous(permute(concat({slice(kv, 3, 0, nope_), shared}, 3), {0, 2, 1, 3}));
  const Variable v = contiguous(permute(slice(kv, 3, nope_, nope_ + v_dim_), {0, 2, 1, 3}));
  if (cache) {  // prefill: keep each sequence's latent rows
    LINEA_CHECK(int64_t(cache->lengths.size()) == B && (ctx.segments.empty() || int64_t(ctx.segments.start.size()) == B),
                "MlaAttention: a prefill takes full or padded rows, one sequence per entry of the state");
    const Tensor rows = reshape(concat({c, k_shared}, 1), {B, T, rank_ + rope_}).data();
    cache->reserve(T, rank_ + rope_, x.device(), x.dtype());
    for (int64_t b = 0; b < B; ++b) {
      const int64_t len = ctx.segments.empty() ? T : ctx.segments.length[size_t(b)];
      cache->latent.select(0, b).narrow(0, 0, len).copy_(rows.select(0, b).narrow(0, 0, len));
      cache->lengths[size_t(b)] = len;
    }
  }
  if (qk_clip_tau_ > 0 && is_training()) record_max_logits(q, k, ctx);
  kernels::AttentionOptions options;
  options.causal = true;
  options.segments = ctx.segments;
  Variable out = scaled_dot_product_attention(q, k, v, options);  // [B, H, T, v]
  out = reshape(contiguous(transpose(out, 1, 2)), {B * T, H * v_dim_});
  if (ctx.output_rows.defined()) out = index_select(out, 0, ctx.output_rows);
  return o_proj_->forward(out);
}

Variable MlaAttention::step(const Variable& x, const SequenceContext& ctx) const {
  LINEA_CHECK(!grad_mode_enabled(), "MlaAttention: decoding steps run without gradients (NoGradGuard)");
  auto& cache = static_cast<LatentCache&>(*ctx.state);
  const int64_t B = ctx.B, H = heads_, Dqk = nope_ + rope_, width = rank_ + rope_;
  LINEA_CHECK(ctx.T == 1 && x.dim() == 2 && x.size(0) == B && int64_t(cache.lengths.size()) == B,
              "MlaAttention: a decoding step takes one token per sequence of the state, got x ", x.data().desc(),
              " for ", cache.lengths.size(), " sequences");
  Variable c, k_shared;
  latent(x, c, k_shared);
  const Tensor rows = concat({c, k_shared}, 1).data();  // [B, r + rope]
  const Variable q = reshape(q_proj_->forward(x), {B, H, Dqk});
  // kv_b_proj's weight [H (nope + v), r] as W_k [H, nope, r] and W_v [H, v, r].
  const Variable w = reshape(kv_b_proj_->weight(), {H, nope_ + v_dim_, rank_});
  const Variable w_k = slice(w, 1, 0, nope_), w_v = slice(w, 1, nope_, nope_ + v_dim_);
  int64_t longest = 0;
  for (int64_t l : cache.lengths) longest = std::max(longest, l);
  cache.reserve(longest + 1, width, x.device(), cache.latent.dtype());
  const double scale = 1.0 / std::sqrt(double(Dqk));
  std::vector<Variable> outs;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t p = cache.lengths[size_t(b)];
    cache.latent.select(0, b).narrow(0, p, 1).copy_(rows.narrow(0, b, 1));
    const Variable qb = select(q, 0, b);  // [H, nope + rope]
    // q_latent,h = W_k,hᵀ q_nope,h: [H, 1, nope] x [H, nope, r] -> [H, 1, r].
    const Variable q_latent = matmul(reshape(slice(qb, 1, 0, nope_), {H, 1, nope_}), w_k);
    const Variable query = concat({reshape(q_latent, {H, rank_}), slice(qb, 1, nope_, Dqk)}, 1);  // [H, r + rope]
    const Variable keys(cache.latent.select(0, b).narrow(0, 0, p + 1));                         // [n, r + rope]
    const Variable probs = softmax(linea::scale(matmul(query, keys, false, true), scale));
    const Variable attended = matmul(probs, slice(keys, 1, 0, rank_));  // [H, r]
    // out_h = W_v,h attended_h: [H, 1, r] x [H, v, r]ᵀ -> [H, 1, v].
    outs.push_back(reshape(matmul(reshape(attended, {H, 1, rank_}), w_v, false, true), {1, H * v_dim_}));
    cache.lengths[size_t(b)] = p + 1;
  }
  return o_proj_->forward(B == 1 ? outs[0] : concat(outs, 0));
}

void MlaAttention::record_max_logits(const Variable& q, const Variable& k, const SequenceContext& ctx) const {
  NoGradGuard no_grad;
  const int64_t B = ctx.B, T = ctx.T, H = heads_;
  const double scale = 1.0 / std::sqrt(double(nope_ + rope_));
  // Each sequence as (batch entry, first row, length).
  std::vector<std::array<int64_t, 3>> seqs;
  if (ctx.segments.empty())
    for (int64_t b = 0; b < B; ++b) seqs.push_back({b, 0, T});
  else
    for (size_t s = 0; s < ctx.segments.start.size(); ++s)
      seqs.push_back({ctx.segments.start[s] / T, ctx.segments.start[s] % T, ctx.segments.length[s]});
  for (const auto& [b, t0, len] : seqs) {
    if (len == 0) continue;
    const Tensor qs = q.data().select(0, b).narrow(1, t0, len), ks = k.data().select(0, b).narrow(1, t0, len);
    const std::vector<double> scores = kernels::matmul(qs.contiguous(), ks.contiguous(), false, true).to(Device::cpu(), DType::f64).to_vector();
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < len; ++i)
        for (int64_t j = 0; j <= i; ++j)
          max_logit_[size_t(h)] = std::max(max_logit_[size_t(h)], scale * scores[size_t((h * len + i) * len + j)]);
  }
}

void MlaAttention::after_step(const StepEnd& step) {
  if (qk_clip_tau_ <= 0) return;
  Tensor m = Tensor::from_vector(max_logit_, {heads_}, DType::f32).to(step.comm.device());
  step.comm.all_reduce(m, ReduceOp::max);  // every replica clips alike
  const std::vector<double> top = m.to(Device::cpu(), DType::f64).to_vector();
  const int64_t Dqk = nope_ + rope_;
  Tensor wq = q_proj_->weight().data(), wkv = kv_b_proj_->weight().data();
  for (int64_t h = 0; h < heads_; ++h) {
    if (top[size_t(h)] <= qk_clip_tau_) continue;
    const double gamma = qk_clip_tau_ / top[size_t(h)], root = std::sqrt(gamma);
    auto scale_rows = [](Tensor w, int64_t begin, int64_t rows, double factor) {
      Tensor block = w.narrow(0, begin, rows);
      block.copy_(kernels::unary_fwd(UnaryOp::affine, block, factor, 0.0));
    };
    scale_rows(wq, h * Dqk, nope_, root);                   // q_nope
    scale_rows(wq, h * Dqk + nope_, rope_, gamma);          // q's part against the shared key slot
    scale_rows(wkv, h * (nope_ + v_dim_), nope_, root);     // k_nope (values untouched)
  }
  std::fill(max_logit_.begin(), max_logit_.end(), -std::numeric_limits<double>::infinity());
}

std::unique_ptr<MixerState> MlaAttention::new_state(int64_t batch) const { return std::make_unique<LatentCache>(batch); }

double MlaAttention::flops_per_token(int64_t seq_len) const {
  double weights = 0;
  for (const auto& [_, p] : named_parameters())
    if (p.dim() == 2) weights += double(p.numel());
  return 6 * weights + 6 * double(heads_) * double(seq_len) * double(nope_ + rope_ + v_dim_);
}

}  // namespace linea
