// SoftmaxAttention: projections, positions, the fused attention kernel for training and
// prefill, and the cached single-token step for decoding.
#include "layers/softmax_attention.h"

#include <algorithm>
#include <cmath>

#include "autograd/ops/attention.h"
#include "autograd/ops/concat.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/gather.h"
#include "autograd/ops/matmul.h"
#include "autograd/ops/rope.h"
#include "autograd/ops/softmax.h"
#include "autograd/ops/views.h"

namespace linea {
namespace {

// Keys and values of every sequence's past tokens, [B, Hkv, capacity, D]. Without a window
// key t sits in slot t and capacity doubles as needed; with one, slot t % window holds the
// newest key of that residue (a ring buffer: attention does not depend on key order once
// positions are applied, and ALiBi recovers each slot's position).
class KvCache : public MixerState {
 public:
  KvCache(int64_t batch, int64_t window) : lengths(size_t(batch), 0), window(window) {}
  int64_t length(int64_t b) const override { return lengths.at(size_t(b)); }
  bool empty() const {
    return std::all_of(lengths.begin(), lengths.end(), [](int64_t l) { return l == 0; });
  }
  int64_t slot(int64_t position) const { return window > 0 ? position % window : position; }
  // The position held by `slot` when sequence b's newest token is at `newest`.
  int64_t position_of(int64_t slot, int64_t newest) const {
    return window > 0 ? newest - ((newest - slot) % window + window) % window : slot;
  }
  // Makes room for `positions` tokens per sequence (a window needs `window` slots at most).
  void reserve(int64_t positions, int64_t kv_heads, int64_t head_dim, Device device, DType dtype) {
    const int64_t needed = window > 0 ? std::min(positions, window) : positions;
    const int64_t have = k.defined() ? k.size(2) : 0;
    if (needed <= have) return;
    const int64_t capacity = window > 0 ? window : std::max<int64_t>(needed, 2 * have);
    const int64_t B = int64_t(lengths.size());
    Tensor nk = Tensor::zeros({B, kv_heads, capacity, head_dim}, dtype, device), nv = Tensor::zeros(nk.shape(), dtype, device);
    if (have > 0) {
      nk.narrow(2, 0, have).copy_(k);
      nv.narrow(2, 0, have).copy_(v);
    }
    k = nk;
    v = nv;
  }

  Tensor k, v;
  std::vector<int64_t> lengths;
  int64_t window;
};

}  // namespace

SoftmaxAttention::SoftmaxAttention(const AttentionConfig& a, const ModelConfig& m, HfLayout layout, Device device,
                                   DType dtype)
    : opt_(a), causal_(m.kind == ModelKind::decoder), heads_(m.heads), kv_heads_(m.kv_heads), head_dim_(m.head_dim()) {
  LINEA_CHECK_T(ConfigError, heads_ > 0 && kv_heads_ > 0 && m.hidden % heads_ == 0 && heads_ % kv_heads_ == 0,
                "SoftmaxAttention: heads (", heads_, ") must divide hidden (", m.hidden,
                ") and be a multiple of kv_heads (", kv_heads_, ")");
  LINEA_CHECK_T(ConfigError, a.positions != PositionKind::rope || head_dim_ % 2 == 0,
                "SoftmaxAttention: head_dim = hidden / heads = ", head_dim_, " must be even for RoPE");
  LINEA_CHECK_T(ConfigError, a.window >= 0 && (a.window == 0 || causal_), "SoftmaxAttention: window ", a.window,
                " must be >= 0, and 0 for bidirectional attention");
  const int64_t C = m.hidden, q_width = heads_ * head_dim_, kv_width = kv_heads_ * head_dim_;
  if (layout == HfLayout::bert) {
    LINEA_CHECK_T(ConfigError, kv_heads_ == heads_, "SoftmaxAttention: BERT's fused Wqkv needs kv_heads (", kv_heads_,
                  ") == heads (", heads_, ")");
    qkv_proj_ = register_module("Wqkv", std::make_shared<Linear>(C, 3 * C, true, device, dtype));
    o_proj_ = register_module("out_proj", std::make_shared<Linear>(C, C, true, device, dtype));
  } else {
    q_proj_ = register_module("q_proj", std::make_shared<Linear>(C, q_width, false, device, dtype));
    k_proj_ = register_module("k_proj", std::make_shared<Linear>(C, kv_width, false, device, dtype));
    v_proj_ = register_module("v_proj", std::make_shared<Linear>(C, kv_width, false, device, dtype));
    o_proj_ = register_module("o_proj", std::make_shared<Linear>(q_width, C, false, device, dtype));
  }
}

void rope_qk(Variable& q, Variable& k, const SequenceContext& ctx, const AttentionConfig& a, int64_t head_dim) {
  if (a.positions != PositionKind::rope) return;
  const kernels::RopeTables rope_t = ctx.positions->rope(a, head_dim, ctx.T, q.device());
  q = rope(q, rope_t.cos, rope_t.sin);
  k = rope(k, rope_t.cos, rope_t.sin);
}

void llama_heads(const Linear& q_proj, const Linear& k_proj, const Linear& v_proj, const Variable& x,
                 const SequenceContext& ctx, const AttentionConfig& a, int64_t heads, int64_t kv_heads,
                 int64_t head_dim, Variable& q, Variable& k, Variable& v) {
  const int64_t B = ctx.B, T = ctx.T;
  LINEA_CHECK(x.dim() == 2 && x.size(0) == B * T, "attention: expected x [", B * T, ", hidden], got ", x.data().desc());
  // [B*T, n*D] -> [B, n, T, D]
  auto split_heads = [&](const Variable& y, int64_t n) {
    return contiguous(transpose(reshape(y, {B, T, n, head_dim}), 1, 2));
  };
  q = split_heads(q_proj.forward(x), heads);
  k = split_heads(k_proj.forward(x), kv_heads);
  v = split_heads(v_proj.forward(x), kv_heads);
  rope_qk(q, k, ctx, a, head_dim);
}

void SoftmaxAttention::project(const Variable& x, const SequenceContext& ctx, Variable& q, Variable& k,
                               Variable& v) const {
  if (!qkv_proj_) return llama_heads(*q_proj_, *k_proj_, *v_proj_, x, ctx, opt_, heads_, kv_heads_, head_dim_, q, k, v);
  const int64_t B = ctx.B, T = ctx.T;
  LINEA_CHECK(x.dim() == 2 && x.size(0) == B * T, "SoftmaxAttention: expected x [", B * T, ", hidden], got ",
              x.data().desc());
  // [B*T, 3C] -> [B, T, 3, heads, D]; q, k, v each -> [B, heads, T, D].
  Variable qkv = reshape(qkv_proj_->forward(x), {B, T, 3, heads_, head_dim_});
  auto heads_first = [&](int64_t i) { return permute(select(qkv, 2, i), {0, 2, 1, 3}); };
  q = heads_first(0);
  k = heads_first(1);
  v = heads_first(2);
  rope_qk(q, k, ctx, opt_, head_dim_);
}

kernels::AttentionOptions SoftmaxAttention::attention_options(const SequenceContext& ctx, Device device) const {
  kernels::AttentionOptions options;
  options.causal = causal_;
  options.window = opt_.window;
  options.segments = ctx.segments;
  if (opt_.positions == PositionKind::alibi) options.alibi_slopes = ctx.positions->alibi_slopes(heads_, device);
  return options;
}

Variable SoftmaxAttention::forward(const Variable& x, const SequenceContext& ctx) const {
  if (ctx.state && !static_cast<const KvCache&>(*ctx.state).empty()) return step(x, ctx);
  Variable q, k, v;
  project(x, ctx, q, k, v);
  if (ctx.state) fill_cache(k.data(), v.data(), ctx);
  Variable out = scaled_dot_product_attention(q, k, v, attention_options(ctx, x.device()));
  out = reshape(contiguous(transpose(out, 1, 2)), {ctx.B * ctx.T, heads_ * head_dim_});
  if (ctx.output_rows.defined()) out = index_select(out, 0, ctx.output_rows);
  return o_proj_->forward(out);
}

void SoftmaxAttention::fill_cache(const Tensor& k, const Tensor& v, const SequenceContext& ctx) const {
  auto& cache = static_cast<KvCache&>(*ctx.state);
  LINEA_CHECK(int64_t(cache.lengths.size()) == ctx.B, "SoftmaxAttention: a decoding state for ",
              cache.lengths.size(), " sequences got a prefill of ", ctx.B);
  LINEA_CHECK(ctx.segments.empty() || int64_t(ctx.segments.start.size()) == ctx.B,
              "SoftmaxAttention: prefill takes full or padded rows, one sequence per batch entry");
  int64_t longest = 0;
  std::vector<int64_t> lengths(size_t(ctx.B), ctx.T);
  for (int64_t b = 0; b < ctx.B && !ctx.segments.empty(); ++b) lengths[size_t(b)] = ctx.segments.length[size_t(b)];
  for (int64_t l : lengths) longest = std::max(longest, l);
  cache.reserve(longest, kv_heads_, head_dim_, k.device(), k.dtype());
  for (int64_t b = 0; b < ctx.B; ++b) {
    const int64_t len = lengths[size_t(b)];
    // Only the last `window` keys can be attended to again.
    for (int64_t t = cache.window > 0 ? std::max<int64_t>(0, len - cache.window) : 0; t < len;) {
      const int64_t run = cache.window > 0 ? std::min(len - t, cache.window - cache.slot(t)) : len - t;
      cache.k.select(0, b).narrow(1, cache.slot(t), run).copy_(k.select(0, b).narrow(1, t, run));
      cache.v.select(0, b).narrow(1, cache.slot(t), run).copy_(v.select(0, b).narrow(1, t, run));
      t += run;
    }
    cache.lengths[size_t(b)] = len;
  }
}

Variable SoftmaxAttention::step(const Variable& x, const SequenceContext& ctx) const {
  LINEA_CHECK(!grad_mode_enabled(), "SoftmaxAttention: decoding steps run without gradients (NoGradGuard)");
  auto& cache = static_cast<KvCache&>(*ctx.state);
  const int64_t B = ctx.B, G = heads_ / kv_heads_, D = head_dim_;
  LINEA_CHECK(ctx.T == 1 && x.dim() == 2 && x.size(0) == B && int64_t(cache.lengths.size()) == B,
              "SoftmaxAttention: a decoding step takes one token per sequence of the state, got x ", x.data().desc(),
              " for ", cache.lengths.size(), " sequences");
  Variable q, k, v;
  if (qkv_proj_) {
    Variable qkv = reshape(qkv_proj_->forward(x), {B, 3, heads_, D});
    q = select(qkv, 1, 0);
    k = select(qkv, 1, 1);
    v = select(qkv, 1, 2);
  } else {
    q = reshape(q_proj_->forward(x), {B, heads_, D});
    k = reshape(k_proj_->forward(x), {B, kv_heads_, D});
    v = reshape(v_proj_->forward(x), {B, kv_heads_, D});
  }
  int64_t newest = 0;
  for (int64_t l : cache.lengths) newest = std::max(newest, l);
  cache.reserve(newest + 1, kv_heads_, D, x.device(), cache.k.dtype());  // the prefill allocated it
  kernels::RopeTables rope_t;
  if (opt_.positions == PositionKind::rope) rope_t = ctx.positions->rope(opt_, D, newest + 1, x.device());
  const Tensor slopes = opt_.positions == PositionKind::alibi ? ctx.positions->alibi_slopes(heads_, Device::cpu()) : Tensor();
  std::vector<Variable> rows;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t p = cache.lengths[size_t(b)];
    Variable qb = reshape(select(q, 0, b), {1, heads_, 1, D});
    Variable kb = reshape(select(k, 0, b), {1, kv_heads_, 1, D});
    if (opt_.positions == PositionKind::rope) {
      const Tensor cos = rope_t.cos.narrow(0, p, 1), sin = rope_t.sin.narrow(0, p, 1);
      qb = rope(qb, cos, sin);
      kb = rope(kb, cos, sin);
    }
    cache.k.select(0, b).narrow(1, cache.slot(p), 1).copy_(kb.data().reshape({kv_heads_, 1, D}));
    cache.v.select(0, b).narrow(1, cache.slot(p), 1).copy_(select(v, 0, b).data().reshape({kv_heads_, 1, D}));
    const int64_t n = cache.window > 0 ? std::min(p + 1, cache.window) : p + 1;
    const Variable keys(cache.k.select(0, b).narrow(1, 0, n)), values(cache.v.select(0, b).narrow(1, 0, n));
    // The G query heads sharing a kv head score its keys together: [Hkv, G, n].
    Variable scores = scale(matmul(reshape(qb, {kv_heads_, G, D}), keys, false, true), 1.0 / std::sqrt(double(D)));
    if (slopes.defined()) {
      std::vector<double> bias(size_t(heads_ * n));
      for (int64_t h = 0; h < heads_; ++h)
        for (int64_t s = 0; s < n; ++s)
          bias[size_t(h * n + s)] = -double(slopes.data<float>()[h]) * double(p - cache.position_of(s, p));
      scores = scores + Variable(Tensor::from_vector(bias, {kv_heads_, G, n}, DType::f32, x.device()).to(x.dtype()));
    }
    rows.push_back(reshape(matmul(softmax(scores), values), {1, heads_ * D}));
    cache.lengths[size_t(b)] = p + 1;
  }
  return o_proj_->forward(B == 1 ? rows[0] : concat(rows, 0));
}

std::unique_ptr<MixerState> SoftmaxAttention::new_state(int64_t batch) const {
  LINEA_CHECK_T(ConfigError, causal_, "SoftmaxAttention: bidirectional attention has no decoding state");
  return std::make_unique<KvCache>(batch, opt_.window);
}

double SoftmaxAttention::flops_per_token(int64_t seq_len) const {
  const double C = double(o_proj_->weight().size(0)), q = double(heads_ * head_dim_), kv = double(kv_heads_ * head_dim_);
  const double weights = C * q + 2 * C * kv + q * C;
  // A sliding window bounds the keys each query scores (PaLM counts the full T x T square).
  const double keys = double(opt_.window > 0 ? std::min(seq_len, opt_.window) : seq_len);
  return 6 * weights + 12 * q * keys;
}

}  // namespace linea
