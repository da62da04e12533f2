// KdaAttention: projections, short convs, L2 norms, the gates, the kda op, output norm and gate.
#include "layers/kda_attention.h"

#include <cmath>

#include "autograd/ops/elementwise.h"
#include "autograd/ops/gather.h"
#include "autograd/ops/kda.h"
#include "autograd/ops/rms_norm.h"
#include "autograd/ops/views.h"

namespace linea {
namespace {

// One decoding state per batch of sequences: the three conv caches [B, width, conv_size - 1]
// and the delta-rule state [B, HV, K, V], each undefined before the prefill.
class KdaState : public MixerState {
 public:
  explicit KdaState(int64_t batch) : lengths(size_t(batch), 0) {}
  int64_t length(int64_t b) const override { return lengths.at(size_t(b)); }
  Tensor conv_q, conv_k, conv_v, state;
  std::vector<int64_t> lengths;
};

int64_t or_default(int64_t v, int64_t fallback) { return v > 0 ? v : fallback; }

}  // namespace

KdaAttention::KdaAttention(const AttentionConfig& a, const ModelConfig& m, Device device, DType dtype)
    : opt_(a.kda),
      heads_(m.heads),
      value_heads_(or_default(a.kda.value_heads, m.heads)),
      key_dim_(or_default(a.kda.head_dim, m.head_dim())),
      value_dim_(or_default(a.kda.value_dim, key_dim_)),
      gate_rank_(or_default(a.kda.gate_rank, value_dim_)),
      norm_eps_(m.norm.eps) {
  LINEA_CHECK_T(ConfigError, heads_ > 0 && key_dim_ > 0 && value_heads_ % heads_ == 0, "KdaAttention: ", value_heads_,
                " value heads over ", heads_, " heads of ", key_dim_, ", expected a multiple of heads");
  LINEA_CHECK_T(ConfigError, opt_.conv_size == 0 || opt_.conv_size >= 2, "KdaAttention: conv_size ", opt_.conv_size,
                ", expected 0 or >= 2");
  const int64_t d = m.hidden, QK = heads_ * key_dim_, VV = value_heads_ * value_dim_;
  q_proj_ = register_module("q_proj", std::make_shared<Linear>(d, QK, false, device, dtype));
  k_proj_ = register_module("k_proj", std::make_shared<Linear>(d, QK, false, device, dtype));
  v_proj_ = register_module("v_proj", std::make_shared<Linear>(d, VV, false, device, dtype));
  if (opt_.conv_size > 0) {
    q_conv_ = register_module("q_conv1d", std::make_shared<ShortConv>(QK, opt_.conv_size, device, dtype));
    k_conv_ = register_module("k_conv1d", std::make_shared<ShortConv>(QK, opt_.conv_size, device, dtype));
    v_conv_ = register_module("v_conv1d", std::make_shared<ShortConv>(VV, opt_.conv_size, device, dtype));
  }
  A_log_ = register_parameter("A_log", Variable(Tensor::zeros({value_heads_}, dtype, device)));
  if (opt_.decay == KdaDecay::per_channel) {
    f_a_proj_ = register_module("f_a_proj", std::make_shared<Linear>(d, gate_rank_, false, device, dtype));
    f_b_proj_ = register_module("f_b_proj", std::make_shared<Linear>(gate_rank_, value_heads_ * key_dim_, false, device, dtype));
    dt_bias_ = register_parameter("dt_bias", Variable(Tensor::zeros({value_heads_ * key_dim_}, dtype, device)));
  } else {
    a_proj_ = register_module("a_proj", std::make_shared<Linear>(d, value_heads_, false, device, dtype));
    dt_bias_ = register_parameter("dt_bias", Variable(Tensor::zeros({value_heads_}, dtype, device)));
  }
  b_proj_ = register_module("b_proj", std::make_shared<Linear>(d, value_heads_, false, device, dtype));
  if (opt_.output_gate.rank == OutputGateRank::low) {
    g_a_proj_ = register_module("g_a_proj", std::make_shared<Linear>(d, gate_rank_, false, device, dtype));
    g_b_proj_ = register_module("g_b_proj", std::make_shared<Linear>(gate_rank_, VV, false, device, dtype));
  } else if (opt_.output_gate.rank == OutputGateRank::full) {
    g_proj_ = register_module("g_proj", std::make_shared<Linear>(d, VV, false, device, dtype));
  }
  o_norm_ = register_module("o_norm", make_norm(NormConfig{NormKind::rmsnorm, norm_eps_}, value_dim_, device, dtype));
  o_proj_ = register_module("o_proj", std::make_shared<Linear>(VV, d, false, device, dtype));
}

void KdaAttention::init_own_parameters(Generator& gen) {
  // A_log = log U(1, 16): decay rates e^A_log in [1, 16]; 0 under the lower-bound gate (fla).
  // The draw happens either way, so dt_bias gets the same numbers with either gate.
  Tensor rate = Tensor::empty({value_heads_}, DType::f64);
  uniform_(rate, gen, 1.0, 16.0);
  std::vector<double> a = rate.to_vector();
  for (double& e : a) e = opt_.gate_lower_bound < 0 ? 0.0 : std::log(e);
  Tensor(A_log_.data()).copy_(Tensor::from_vector(a, {value_heads_}, DType::f64));
  // dt_bias = softplus⁻¹(dt), dt log-uniform in [1e-3, 0.1] and at least 1e-4 (Mamba's init).
  Tensor u = Tensor::empty(dt_bias_.data().shape(), DType::f64);
  uniform_(u, gen, std::log(1e-3), std::log(0.1));
  std::vector<double> dt = u.to_vector();
  for (double& e : dt) {
    const double t = std::max(std::exp(e), 1e-4);
    e = t + std::log(-std::expm1(-t));
  }
  Tensor(dt_bias_.data()).copy_(Tensor::from_vector(dt, dt_bias_.data().shape(), DType::f64));
}

Variable KdaAttention::conv_branch(const Linear& proj, const Child<ShortConv>& conv, const Variable& x,
                                   const SequenceContext& ctx, Tensor* conv_state) const {
  Variable y = reshape(proj.forward(x), {ctx.B, ctx.T, proj.weight().size(0)});
  if (conv) y = conv->forward(y, ctx.segments, conv_state);
  return silu(y);
}

Variable KdaAttention::forward(const Variable& x, const SequenceContext& ctx) const {
  const int64_t B = ctx.B, T = ctx.T, H = heads_, HV = value_heads_, K = key_dim_, V = value_dim_;
  LINEA_CHECK(x.dim() == 2 && x.size(0) == B * T, "KdaAttention: expected x [", B * T, ", hidden], got ", x.data().desc());
  auto* state = static_cast<KdaState*>(ctx.state);
  LINEA_CHECK(!state || int64_t(state->lengths.size()) == B, "KdaAttention: a decoding state for ",
              state ? state->lengths.size() : 0, " sequences got ", B);
  // [B, T, heads * width] -> [B, heads, T, width]
  auto heads_first = [&](const Variable& t, int64_t heads, int64_t width) {
    return contiguous(permute(reshape(t, {B, T, heads, width}), {0, 2, 1, 3}));
  };
  // L2 normalisation x / sqrt(Σx² + 1e-6) is RMS normalisation with eps 1e-6 / K, over sqrt(K).
  auto l2_normalise = [&](const Variable& t) { return scale(rms_norm(t, Variable(), 1e-6 / double(K)), 1.0 / std::sqrt(double(K))); };
  const Variable q = l2_normalise(heads_first(conv_branch(*q_proj_, q_conv_, x, ctx, state ? &state->conv_q : nullptr), H, K));
  const Variable k = l2_normalise(heads_first(conv_branch(*k_proj_, k_conv_, x, ctx, state ? &state->conv_k : nullptr), H, K));
  const Variable v = heads_first(conv_branch(*v_proj_, v_conv_, x, ctx, state ? &state->conv_v : nullptr), HV, V);
  // g = -exp(A_log) softplus(a + dt_bias), or lb sigmoid(exp(A_log) (a + dt_bias)) with the
  // lower-bound gate; per (value head, key channel) or per value head.
  const Variable rate = exp(reshape(A_log_, {HV, 1}));
  const double lb = opt_.gate_lower_bound;
  auto log_decay = [&](const Variable& z, int64_t width) {
    const Variable zz = reshape(z, {B * T, HV, width});
    return lb < 0 ? scale(sigmoid(zz * rate), lb) : neg(softplus(zz) * rate);
  };
  Variable g;
  if (opt_.decay == KdaDecay::per_channel) {
    g = heads_first(log_decay(f_b_proj_->forward(f_a_proj_->forward(x)) + dt_bias_, K), HV, K);
  } else {
    g = heads_first(expand(log_decay(a_proj_->forward(x) + dt_bias_, 1), {B * T, HV, K}), HV, K);
  }
  const Variable beta = contiguous(permute(reshape(sigmoid(b_proj_->forward(x)), {B, T, HV}), {0, 2, 1}));
  kernels::KdaOptions options;
  options.segments = ctx.segments;
  options.chunk = opt_.chunk;
  options.delta_rule = opt_.delta_rule;
  // A prefill starts from zeros; a step (or a later piece) from the state so far.
  const Variable initial = state && state->state.defined() ? Variable(state->state) : Variable();
  const KdaOutput r = kda(q, k, v, g, beta, options, initial);
  if (state) {
    state->state = r.final_state.data();
    for (int64_t b = 0; b < B; ++b)
      state->lengths[size_t(b)] += ctx.segments.empty() ? T : ctx.segments.length[size_t(b)];
  }
  // Per value head: RMSNorm over V with the shared weight, then the output gate.
  Variable y = o_norm_->forward(reshape(contiguous(permute(r.out, {0, 2, 1, 3})), {B * T * HV, V}));
  if (opt_.output_gate.rank != OutputGateRank::none) {
    const Variable G = reshape(g_proj_ ? g_proj_->forward(x) : g_b_proj_->forward(g_a_proj_->forward(x)), {B * T * HV, V});
    y = y * (opt_.output_gate.act == OutputGateActivation::sigmoid ? sigmoid(G) : silu(G));
  }
  y = reshape(y, {B * T, HV * V});
  if (ctx.output_rows.defined()) y = index_select(y, 0, ctx.output_rows);
  return o_proj_->forward(y);
}

std::unique_ptr<MixerState> KdaAttention::new_state(int64_t batch) const { return std::make_unique<KdaState>(batch); }

double KdaAttention::flops_per_token(int64_t seq_len) const {
  double weights = 0;
  for (const auto& [_, p] : named_parameters())
    if (p.dim() == 2) weights += double(p.numel());  // projections, and conv taps (2 FLOPs each per token too)
  const double K = double(key_dim_), V = double(value_dim_), C = double(std::min(seq_len, opt_.chunk));
  return 6 * weights + 3 * double(value_heads_) * (6 * K * V + 3 * C * K + C * C);
}

}  // namespace linea
