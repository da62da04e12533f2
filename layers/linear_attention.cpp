// LinearAttention: projections, feature map, the lightning op, output norm and gate.
#include "layers/linear_attention.h"

#include <algorithm>
#include <cmath>

#include "autograd/ops/concat.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/gather.h"
#include "autograd/ops/lightning_attention.h"
#include "autograd/ops/rms_norm.h"
#include "autograd/ops/views.h"
#include "layers/glu.h"
#include "layers/urpe.h"

namespace linea {
namespace {

constexpr int64_t kBlock = 64;

// The running state of each sequence, [B, H, Dh, Dh] in the model's dtype (f32 at least).
class LightningState : public MixerState {
 public:
  explicit LightningState(int64_t batch) : lengths(size_t(batch), 0) {}
  int64_t length(int64_t b) const override { return lengths.at(size_t(b)); }
  Tensor state;  // undefined before the prefill
  std::vector<int64_t> lengths;
};

}  // namespace

std::vector<double> tnl_decay(int64_t heads, int64_t layer, int64_t layers) {
  const std::vector<float> slopes = kernels::alibi_slopes(heads);  // powers of two: exact in f32
  const double depth = layers > 1 ? double(layer) / double(layers - 1) : 0.0;
  std::vector<double> s;
  for (float slope : slopes) s.push_back(double(slope) * (1.0 - depth + 1e-5));
  return s;
}

LinearAttention::LinearAttention(const AttentionConfig& a, const ModelConfig& m, int64_t layer, Device device,
                                 DType dtype)
    : opt_(a),
      heads_(m.heads),
      head_dim_(m.head_dim()),
      norm_eps_(m.norm.eps),
      causal_(m.kind == ModelKind::decoder),
      gated_(a.kind == AttentionKind::lightning) {
  LINEA_CHECK_T(ConfigError, a.kind == AttentionKind::lightning || a.kind == AttentionKind::norm_linear,
                "LinearAttention: kind ", int(a.kind), ", expected lightning or norm_linear");
  LINEA_CHECK_T(ConfigError, heads_ > 0 && m.hidden % heads_ == 0, "LinearAttention: heads (", heads_,
                ") must divide hidden (", m.hidden, ")");
  LINEA_CHECK_T(ConfigError,
                (causal_ || !gated_) && a.window == 0 &&
                    (a.positions == PositionKind::none || a.positions == PositionKind::lrpe ||
                     (!gated_ && a.positions == PositionKind::urpe)),
                "LinearAttention: lightning is causal (decoder) only; no window; positions none, lrpe or "
                "(norm_linear) urpe");
  if (gated_) {
    decay_ = Tensor::from_vector(tnl_decay(m.heads, layer, m.layers), {m.heads}, DType::f64);
  }
  // TNL's projections have no biases, v1's all have them.
  const int64_t C = m.hidden;
  in_proj_ = register_module(gated_ ? "qkvu_proj" : "qkv_proj",
                             std::make_shared<Linear>(C, (gated_ ? 4 : 3) * C, !gated_, device, dtype));
  out_proj_ = register_module("out_proj", std::make_shared<Linear>(C, C, !gated_, device, dtype));
  if (a.positions == PositionKind::lrpe) {
    // One geometric sequence over the whole width, as the released code: 10000^(-2 i / C).
    std::vector<double> theta(static_cast<size_t>(C));
    for (int64_t i = 0; i < C; ++i) theta[size_t(i)] = std::pow(10000.0, -2.0 * double(i) / double(C));
    lrpe_theta_ = register_parameter("lrpe_theta", Variable(Tensor::from_vector(theta, {heads_, head_dim_}, dtype).to(device)));
  }
  if (a.positions == PositionKind::urpe) urpe_ = register_module("urpe", std::make_shared<Urpe>(head_dim_, layer, device, dtype));
}


Variable LinearAttention::forward(const Variable& x, const SequenceContext& ctx) const {
  const int64_t B = ctx.B, T = ctx.T, C = heads_ * head_dim_;
  LINEA_CHECK(x.dim() == 2 && x.size(0) == B * T, "LinearAttention: expected x [", B * T, ", hidden], got ",
              x.data().desc());
  // [B*T, 4C] -> [B, T, 4, heads, Dh] (3 without the gate); q, k, v each -> [B, heads, T, Dh];
  // u stays [B*T, C].
  Variable qkvu = reshape(in_proj_->forward(x), {B, T, gated_ ? 4 : 3, heads_, head_dim_});
  auto heads_first = [&](int64_t i) { return contiguous(permute(select(qkvu, 2, i), {0, 2, 1, 3})); };
  Variable q = activate(opt_.feature_map, heads_first(0)), k = activate(opt_.feature_map, heads_first(1));
  Variable v = heads_first(2);
  auto* state = static_cast<LightningState*>(ctx.state);
  if (lrpe_theta_.defined() || urpe_) {
    // Positions continue from the tokens a decoding state has already taken.
    const Variable p(row_positions(ctx, state ? state->lengths : std::vector<int64_t>(), x.dtype(), x.device()));
    if (urpe_) {
      q = urpe_->forward(q, p);
      k = urpe_->forward(k, p);
    } else {
      const Variable angles = p * reshape(lrpe_theta_, {1, heads_, 1, head_dim_});
      const Variable c = cos(angles), s = sin(angles);
      q = concat({q * c, q * s}, 3);
      k = concat({k * c, k * s}, 3);
    }
  }
  kernels::LightningOptions options;
  options.decay = decay_;
  options.segments = ctx.segments;
  options.block = kBlock;
  options.causal = causal_;
  LINEA_CHECK(!state || causal_, "LinearAttention: bidirectional attention has no decoding state");
  LINEA_CHECK(!state || int64_t(state->lengths.size()) == B, "LinearAttention: a decoding state for ",
              state ? state->lengths.size() : 0, " sequences got ", B);
  // A prefill starts from zeros; a step (or a later chunk) from the state so far.
  const Variable initial = state && state->state.defined() ? Variable(state->state) : Variable();
  const LightningOutput a = lightning_attention(q, k, v, options, initial);
  if (state) {
    state->state = a.final_state.data();
    for (int64_t b = 0; b < B; ++b)
      state->lengths[size_t(b)] += ctx.segments.empty() ? T : ctx.segments.length[size_t(b)];
  }
  Variable o = reshape(contiguous(transpose(a.out, 1, 2)), {B * T, C});
  o = rms_norm(o, Variable(), norm_eps_);
  if (gated_) o = o * reshape(select(qkvu, 2, 3), {B * T, C});
  if (ctx.output_rows.defined()) o = index_select(o, 0, ctx.output_rows);
  return out_proj_->forward(o);
}

std::unique_ptr<MixerState> LinearAttention::new_state(int64_t batch) const {
  return std::make_unique<LightningState>(batch);
}

double LinearAttention::flops_per_token(int64_t seq_len) const {
  const double C = double(heads_ * head_dim_), Dv = double(head_dim_), Dk = lrpe_theta_.defined() ? 2 * Dv : Dv;
  const double within = causal_ ? double(std::min<int64_t>(seq_len, kBlock)) : 0.0;
  return 6 * ((gated_ ? 4 : 3) * C * C + C * C) + 3 * double(heads_) * (within * (Dk + Dv) + 4 * Dk * Dv);
}

}  // namespace linea
