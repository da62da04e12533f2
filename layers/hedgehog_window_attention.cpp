// HedgehogWindowAttention: Llama projections, RoPE, GQA repeat, the two feature maps, the
// hybrid kernel for training and prefill, and the window-cache step for decoding.
#include "layers/hedgehog_window_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "autograd/ops/concat.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/gather.h"
#include "autograd/ops/hedgehog_window.h"
#include "autograd/ops/matmul.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/rope.h"
#include "autograd/ops/softmax.h"
#include "autograd/ops/views.h"
#include "autograd/ops/where.h"
#include "layers/softmax_attention.h"

namespace linea {
namespace {

// Feature values are clamped from below, as LoLCATs' maps (1e-12): a linear weight fq·fk is
// then never exactly 0 for a pair the softmax halves underflow on.
constexpr double kFeatureFloor = 1e-12;

kernels::WindowLayout kernel_layout(WindowLayout l) {
  return l == WindowLayout::terrace ? kernels::WindowLayout::terrace : kernels::WindowLayout::sliding;
}

// [B, Hkv, T, D] -> [B, Hkv * groups, T, D]: query head h reads kv head h / groups.
Variable repeat_kv(const Variable& x, int64_t groups) {
  if (groups == 1) return x;
  const Shape s = x.shape();
  Variable e = expand(reshape(x, {s[0], s[1], 1, s[2], s[3]}), {s[0], s[1], groups, s[2], s[3]});
  return reshape(contiguous(e), {s[0], s[1] * groups, s[2], s[3]});
}

// Each sequence's linear state over the tokens that left its window, and the window itself
// (post-RoPE keys repeated to every head, values, and the keys' features) in a ring buffer:
// token t sits in slot t % window. Pure linear attention (window 0) keeps only the state.
class HedgehogState : public MixerState {
 public:
  explicit HedgehogState(int64_t batch) : lengths(size_t(batch), 0) {}
  int64_t length(int64_t b) const override { return lengths.at(size_t(b)); }
  bool empty() const {
    return std::all_of(lengths.begin(), lengths.end(), [](int64_t l) { return l == 0; });
  }
  std::vector<int64_t> lengths;
  Tensor S, z;      // [B, H, F, D], [B, H, F]
  Tensor k, v, fk;  // [B, H, w, D], [B, H, w, D], [B, H, w, F]
};

// One decoding step of sequence b, every head, on the host (T is the model's dtype): moves
// the token leaving the window into the state, stores the new token, attends.
template <class T>
void step_sequence(HedgehogState& st, int64_t b, int64_t w, double scale, const std::vector<double>& gamma,
                   const std::vector<double>& lambda, const Tensor& q, const Tensor& k, const Tensor& v,
                   const Tensor& fq, const Tensor& fk, Tensor& out) {
  const int64_t H = q.size(0), D = q.size(1), F = fq.size(1), p = st.lengths[size_t(b)];
  T* S = st.S.data<T>() + b * H * F * D;
  T* z = st.z.data<T>() + b * H * F;
  for (int64_t h = 0; h < H; ++h) {
    T* Sh = S + h * F * D;
    T* zh = z + h * F;
    auto fold = [&](const T* fkey, const T* val) {
      for (int64_t f = 0; f < F; ++f) {
        zh[f] += fkey[f];
        for (int64_t e = 0; e < D; ++e) Sh[f * D + e] += fkey[f] * val[e];
      }
    };
    const T* qh = q.data<T>() + h * D;
    std::vector<double> num(size_t(D), 0.0);
    double den = 0;
    if (w > 0) {
      const int64_t slot = p % w;
      T* kc = st.k.data<T>() + ((b * H + h) * w) * D;
      T* vc = st.v.data<T>() + ((b * H + h) * w) * D;
      T* fc = st.fk.data<T>() + ((b * H + h) * w) * F;
      if (p >= w) fold(fc + slot * F, vc + slot * D);  // token p - w leaves the window
      std::copy_n(k.data<T>() + h * D, D, kc + slot * D);
      std::copy_n(v.data<T>() + h * D, D, vc + slot * D);
      std::copy_n(fk.data<T>() + h * F, F, fc + slot * F);
      const int64_t n = std::min(p + 1, w);
      std::vector<double> s(static_cast<size_t>(n));
      double c = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < n; ++j) {
        double dot = 0;
        for (int64_t e = 0; e < D; ++e) dot += double(qh[e]) * double(kc[j * D + e]);
        s[size_t(j)] = dot * scale;
        c = std::max(c, s[size_t(j)]);
      }
      for (int64_t j = 0; j < n; ++j) {
        const double weight = gamma[size_t(h)] * std::exp(s[size_t(j)] - c);
        den += weight;
        for (int64_t e = 0; e < D; ++e) num[size_t(e)] += weight * double(vc[j * D + e]);
      }
    } else {
      fold(fk.data<T>() + h * F, v.data<T>() + h * D);  // pure linear: the token itself is in Λ
      den += kernels::kPureLinearEps;
    }
    const T* fqh = fq.data<T>() + h * F;
    for (int64_t f = 0; f < F; ++f) {
      const double a = lambda[size_t(h)] * double(fqh[f]);
      den += a * double(zh[f]);
      for (int64_t e = 0; e < D; ++e) num[size_t(e)] += a * double(Sh[f * D + e]);
    }
    for (int64_t e = 0; e < D; ++e) out.data<T>()[h * D + e] = T(num[size_t(e)] / den);
  }
}

}  // namespace

FeatureMapWeights::FeatureMapWeights(FeatureMapKind kind, int64_t heads, int64_t head_dim, int64_t feature_dim,
                                     Device device, DType dtype) {
  // Identity per head (LoLCATs' --lk_zero_init): W[h, i, i] = 1 for i < min(D, F).
  Tensor w = Tensor::zeros({heads, head_dim, feature_dim}, DType::f64);
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < std::min(head_dim, feature_dim); ++i) w.set({h, i, i}, 1.0);
  layer_ = register_parameter("layer", Variable(w.to(device, dtype)));
  if (kind == FeatureMapKind::t2r) bias_ = register_parameter("bias", Variable(Tensor::zeros({heads}, dtype, device)));
}

FeatureMap::FeatureMap(FeatureMapKind kind, int64_t heads, int64_t head_dim, int64_t feature_dim, Device device,
                       DType dtype)
    : kind_(kind), heads_(heads), feature_dim_(feature_dim) {
  mlp_ = register_module("mlp", std::make_shared<FeatureMapWeights>(kind, heads, head_dim, feature_dim, device, dtype));
}

Variable FeatureMap::forward(const Variable& x) const {
  // x [B, H, T, D] times W [H, D, F] per head (the batch dims broadcast): u [B, H, T, F].
  const Variable u = matmul(x, mlp_->layer());
  const double inf = std::numeric_limits<double>::infinity();
  if (kind_ == FeatureMapKind::t2r)
    return clamp(relu(u + reshape(mlp_->bias(), {1, heads_, 1, 1})), kFeatureFloor, inf);
  return clamp(concat({softmax(u), softmax(neg(u))}, 3), kFeatureFloor, inf);
}

HedgehogWindowAttention::HedgehogWindowAttention(const AttentionConfig& a, const ModelConfig& m, Device device,
                                                 DType dtype)
    : opt_(a), heads_(m.heads), kv_heads_(m.kv_heads), head_dim_(m.head_dim()) {
  LINEA_CHECK_T(ConfigError, m.kind == ModelKind::decoder, "HedgehogWindowAttention: decoders only (causal)");
  LINEA_CHECK_T(ConfigError, heads_ > 0 && kv_heads_ > 0 && m.hidden % heads_ == 0 && heads_ % kv_heads_ == 0,
                "HedgehogWindowAttention: heads (", heads_, ") must divide hidden (", m.hidden,
                ") and be a multiple of kv_heads (", kv_heads_, ")");
  LINEA_CHECK_T(ConfigError, a.window >= 0 && a.feature_dim > 0, "HedgehogWindowAttention: window ", a.window,
                " must be >= 0 and feature_dim ", a.feature_dim, " > 0");
  const int64_t C = m.hidden, q_width = heads_ * head_dim_, kv_width = kv_heads_ * head_dim_;
  q_proj_ = register_module("q_proj", std::make_shared<Linear>(C, q_width, false, device, dtype));
  k_proj_ = register_module("k_proj", std::make_shared<Linear>(C, kv_width, false, device, dtype));
  v_proj_ = register_module("v_proj", std::make_shared<Linear>(C, kv_width, false, device, dtype));
  o_proj_ = register_module("o_proj", std::make_shared<Linear>(q_width, C, false, device, dtype));
  feature_map_q_ = register_module(
      "feature_map_q", std::make_shared<FeatureMap>(a.feature_kind, heads_, head_dim_, a.feature_dim, device, dtype));
  feature_map_k_ = register_module(
      "feature_map_k", std::make_shared<FeatureMap>(a.feature_kind, heads_, head_dim_, a.feature_dim, device, dtype));
  window_factors_ =
      register_parameter("window_factors", Variable(Tensor::full({heads_}, a.init_window_logit, dtype, device)));
}

HedgehogWindowAttention::Heads HedgehogWindowAttention::heads(const Variable& x, const SequenceContext& ctx) const {
  Heads h;
  llama_heads(*q_proj_, *k_proj_, *v_proj_, x, ctx, opt_, heads_, kv_heads_, head_dim_, h.q, h.k, h.v);
  h.k = repeat_kv(h.k, heads_ / kv_heads_);
  h.v = repeat_kv(h.v, heads_ / kv_heads_);
  return h;
}

HedgehogWindowAttention::Hybrid HedgehogWindowAttention::hybrid(const Heads& h) const {
  Hybrid y{feature_map_q_->forward(h.q), feature_map_k_->forward(h.k), sigmoid(window_factors_), Variable()};
  y.lambda = opt_.affine_factors ? add_scalar(neg(y.gamma), 1.0)
                                 : Variable(Tensor::ones({heads_}, y.gamma.dtype(), y.gamma.device()));
  return y;
}

Variable HedgehogWindowAttention::attend(const Heads& h, const SequenceContext& ctx) const {
  auto* state = static_cast<HedgehogState*>(ctx.state);
  const Hybrid y = hybrid(h);
  const Variable& fk = y.fk;
  kernels::HedgehogWindowOptions o;
  o.layout = kernel_layout(opt_.window_layout);
  o.window = opt_.window;
  o.segments = ctx.segments;
  const HedgehogWindowResult r = hedgehog_window_attention(h.q, h.k, h.v, y.fq, fk, y.gamma, y.lambda, o, Variable(),
                                                           Variable(), state != nullptr);
  if (state) {  // a prefill: the state over all but the last `window` tokens, those into the cache
    LINEA_CHECK(int64_t(state->lengths.size()) == ctx.B, "HedgehogWindowAttention: a decoding state for ",
                state->lengths.size(), " sequences got a prefill of ", ctx.B);
    LINEA_CHECK(ctx.segments.empty() || int64_t(ctx.segments.start.size()) == ctx.B,
                "HedgehogWindowAttention: prefill takes full or padded rows, one sequence per batch entry");
    state->S = r.final_S.data().contiguous();
    state->z = r.final_z.data().contiguous();
    const int64_t w = opt_.window;
    if (w > 0) {
      const int64_t F = fk.size(3);
      state->k = Tensor::zeros({ctx.B, heads_, w, head_dim_}, h.k.dtype(), h.k.device());
      state->v = Tensor::zeros(state->k.shape(), h.v.dtype(), h.v.device());
      state->fk = Tensor::zeros({ctx.B, heads_, w, F}, fk.dtype(), fk.device());
    }
    for (int64_t b = 0; b < ctx.B; ++b) {
      const int64_t len = ctx.segments.empty() ? ctx.T : ctx.segments.length[size_t(b)];
      for (int64_t t = std::max<int64_t>(0, len - w); t < len && w > 0; ++t) {
        state->k.select(0, b).narrow(1, t % w, 1).copy_(h.k.data().select(0, b).narrow(1, t, 1));
        state->v.select(0, b).narrow(1, t % w, 1).copy_(h.v.data().select(0, b).narrow(1, t, 1));
        state->fk.select(0, b).narrow(1, t % w, 1).copy_(fk.data().select(0, b).narrow(1, t, 1));
      }
      state->lengths[size_t(b)] = len;
    }
  }
  return r.out;
}

Variable HedgehogWindowAttention::weights(const Heads& h, const SequenceContext& ctx) const {
  LINEA_CHECK(ctx.segments.empty() && !ctx.state, "HedgehogWindowAttention::weights: full rows only, not decoding");
  const Hybrid y = hybrid(h);
  const int64_t T = h.q.size(2), w = opt_.window;
  const bool terrace = opt_.window_layout == WindowLayout::terrace;
  // Constant masks of the pair sets: window pairs, linear pairs, and every pair outside the window.
  std::vector<double> window(size_t(T * T), 0.0), linear(size_t(T * T), 0.0), outside(size_t(T * T), 1.0);
  for (int64_t i = 0; i < T; ++i)
    for (int64_t j = 0; j <= i; ++j) {
      const bool in_window = j >= kernels::hedgehog_window_start(i, T, w, terrace);
      (in_window ? window : linear)[size_t(i * T + j)] = 1.0;
      if (in_window) outside[size_t(i * T + j)] = 0.0;
    }
  const DType dt = h.q.dtype();
  const Device dev = h.q.device();
  auto mask = [&](const std::vector<double>& m, DType type) { return Tensor::from_vector(m, {T, T}, type).to(dev); };
  const Variable per_head_gamma = reshape(y.gamma, {1, heads_, 1, 1}), per_head_lambda = reshape(y.lambda, {1, heads_, 1, 1});
  Variable num = per_head_lambda * (matmul(y.fq, y.fk, false, true) * Variable(mask(linear, dt)));
  if (w > 0) {
    // exp(s − c) with c the row's largest window logit, a constant: q and k carry no gradient here.
    Tensor e;
    {
      NoGradGuard no_grad;
      const Variable s = masked_fill(scale(matmul(h.q, h.k, false, true), 1.0 / std::sqrt(double(head_dim_))),
                                     mask(outside, DType::u8), -std::numeric_limits<double>::infinity());
      e = exp(s - max(s, {3}, true)).data();
    }
    num = num + per_head_gamma * Variable(e);
  }
  Variable den = sum(num, {3}, true);
  if (w == 0) den = add_scalar(den, kernels::kPureLinearEps);
  return num / den;
}

Variable HedgehogWindowAttention::project_out(const Variable& out, const SequenceContext& ctx) const {
  Variable o = reshape(contiguous(transpose(out, 1, 2)), {ctx.B * ctx.T, heads_ * head_dim_});
  if (ctx.output_rows.defined()) o = index_select(o, 0, ctx.output_rows);
  return o_proj_->forward(o);
}

Variable HedgehogWindowAttention::forward(const Variable& x, const SequenceContext& ctx) const {
  if (ctx.state && !static_cast<const HedgehogState&>(*ctx.state).empty()) return step(x, ctx);
  return project_out(attend(heads(x, ctx), ctx), ctx);
}

Variable HedgehogWindowAttention::step(const Variable& x, const SequenceContext& ctx) const {
  LINEA_CHECK(!grad_mode_enabled(), "HedgehogWindowAttention: decoding steps run without gradients (NoGradGuard)");
  auto& st = static_cast<HedgehogState&>(*ctx.state);
  const int64_t B = ctx.B, D = head_dim_, G = heads_ / kv_heads_;
  LINEA_CHECK(ctx.T == 1 && x.dim() == 2 && x.size(0) == B && int64_t(st.lengths.size()) == B,
              "HedgehogWindowAttention: a decoding step takes one token per sequence of the state, got x ",
              x.data().desc(), " for ", st.lengths.size(), " sequences");
  LINEA_CHECK(x.device().is_cpu() && (x.dtype() == DType::f32 || x.dtype() == DType::f64),
              "HedgehogWindowAttention: decoding runs on the CPU in f32 or f64 so far, got ", x.data().desc());
  const Variable q = reshape(q_proj_->forward(x), {B, heads_, 1, D});
  const Variable k = reshape(k_proj_->forward(x), {B, kv_heads_, 1, D});
  const Variable v = reshape(v_proj_->forward(x), {B, kv_heads_, 1, D});
  int64_t newest = 0;
  for (int64_t l : st.lengths) newest = std::max(newest, l);
  kernels::RopeTables rope_t;
  if (opt_.positions == PositionKind::rope) rope_t = ctx.positions->rope(opt_, D, newest + 1, x.device());
  const std::vector<double> gamma = sigmoid(window_factors_).data().to_vector();
  std::vector<double> lambda(gamma.size(), 1.0);
  if (opt_.affine_factors)
    for (size_t h = 0; h < gamma.size(); ++h) lambda[h] = 1.0 - gamma[h];
  Tensor out = Tensor::empty({B, heads_ * D}, x.dtype());
  for (int64_t b = 0; b < B; ++b) {
    const int64_t p = st.lengths[size_t(b)];
    Variable qb = slice(q, 0, b, b + 1), kb = slice(k, 0, b, b + 1), vb = slice(v, 0, b, b + 1);
    if (opt_.positions == PositionKind::rope) {
      const Tensor cos = rope_t.cos.narrow(0, p, 1), sin = rope_t.sin.narrow(0, p, 1);
      qb = rope(qb, cos, sin);
      kb = rope(kb, cos, sin);
    }
    kb = repeat_kv(kb, G);
    vb = repeat_kv(vb, G);
    const Tensor fq = feature_map_q_->forward(qb).data().reshape({heads_, -1}).contiguous();
    const Tensor fk = feature_map_k_->forward(kb).data().reshape({heads_, -1}).contiguous();
    Tensor row = out.select(0, b).view({heads_, D});
    const Tensor qh = qb.data().reshape({heads_, D}).contiguous(), kh = kb.data().reshape({heads_, D}).contiguous();
    const Tensor vh = vb.data().reshape({heads_, D}).contiguous();
    const double scale = 1.0 / std::sqrt(double(D));
    if (x.dtype() == DType::f64)
      step_sequence<double>(st, b, opt_.window, scale, gamma, lambda, qh, kh, vh, fq, fk, row);
    else
      step_sequence<float>(st, b, opt_.window, scale, gamma, lambda, qh, kh, vh, fq, fk, row);
    st.lengths[size_t(b)] = p + 1;
  }
  return o_proj_->forward(Variable(out));
}

std::unique_ptr<MixerState> HedgehogWindowAttention::new_state(int64_t batch) const {
  return std::make_unique<HedgehogState>(batch);
}

double HedgehogWindowAttention::flops_per_token(int64_t seq_len) const {
  const double C = double(o_proj_->weight().size(0)), q = double(heads_ * head_dim_), kv = double(kv_heads_ * head_dim_);
  const double D = double(head_dim_), F = double(feature_map_q_->features());
  const double maps = 2 * q * double(opt_.feature_dim);  // φq and φk: [D, feature_dim] per head
  const double w = double(opt_.window);
  const double keys = std::min(double(seq_len), opt_.window_layout == WindowLayout::terrace ? 1.5 * w : w);
  return 6 * (C * q + 2 * C * kv + q * C + maps) + 3 * double(heads_) * (keys * 2 * D + 4 * F * D);
}

}  // namespace linea
