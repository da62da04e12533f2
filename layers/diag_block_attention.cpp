// DiagBlockAttention: gather each block's queries and keys into a [blocks, H, rows, Dh]
// batch, one batched product for the scores and one for the values, gather the rows back.
// The gather tables are built on the host from the sequences' layout (and, when decoding,
// how many tokens each sequence has seen), so packed, padded and decoding batches take the
// same path.
#include "layers/diag_block_attention.h"

#include <algorithm>
#include <cmath>

#include "autograd/ops/concat.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/gather.h"
#include "autograd/ops/matmul.h"
#include "autograd/ops/rms_norm.h"
#include "autograd/ops/softmax.h"
#include "autograd/ops/views.h"

namespace linea {
namespace {

// The current block of each sequence: slot p % block holds the key and value of position p.
class DiagBlockState : public MixerState {
 public:
  explicit DiagBlockState(int64_t batch) : lengths(size_t(batch), 0) {}
  int64_t length(int64_t b) const override { return lengths.at(size_t(b)); }
  Tensor k, v;  // [batch * block, H, Dh]; undefined before the prefill
  std::vector<int64_t> lengths;
};

// A sequence's new rows [start, start + count) and the tokens it saw before them.
struct SequenceRows {
  int64_t start, count, before;
};

std::vector<SequenceRows> sequence_rows(const SequenceContext& ctx, const DiagBlockState* state) {
  const bool packed = !ctx.segments.empty();
  const int64_t n = packed ? int64_t(ctx.segments.start.size()) : ctx.B;
  LINEA_CHECK(!state || int64_t(state->lengths.size()) == n, "DiagBlockAttention: a decoding state for ",
              state ? state->lengths.size() : 0, " sequences got ", n);
  std::vector<SequenceRows> rows;
  for (int64_t s = 0; s < n; ++s)
    rows.push_back({packed ? ctx.segments.start[size_t(s)] : s * ctx.T,
                    packed ? ctx.segments.length[size_t(s)] : ctx.T, state ? state->lengths[size_t(s)] : 0});
  return rows;
}

// Index tables of one forward. Queries are read from [new rows | a zero row], keys and values
// from [cached rows | new rows | a zero row].
struct BlockTables {
  int64_t blocks = 0, queries = 0, keys = 0;  // queries and keys per block
  std::vector<int64_t> query_rows, key_rows;  // [blocks * queries], [blocks * keys]
  std::vector<double> allowed;                // [blocks, queries, keys]: 1 where the query sees the key
  std::vector<int64_t> output_slot;           // per new row: its query slot, or blocks * queries (zero)
  std::vector<int64_t> next_cache;            // per sequence and slot: the row the state keeps, or zero
};

BlockTables block_tables(const std::vector<SequenceRows>& seqs, int64_t new_rows, int64_t cached_rows, int64_t w,
                         bool causal, bool keep_cache) {
  BlockTables t;
  t.keys = w;
  for (const SequenceRows& s : seqs) t.queries = std::max(t.queries, std::min(w, s.count));
  const int64_t zero_key = cached_rows + new_rows;
  // Key source row of position p of sequence i: the cache holds the positions before it.
  auto key_row = [&](size_t i, int64_t p) {
    const SequenceRows& s = seqs[i];
    return p < s.before ? int64_t(i) * w + p % w : cached_rows + s.start + (p - s.before);
  };
  t.output_slot.assign(size_t(new_rows), -1);
  for (size_t i = 0; i < seqs.size(); ++i) {
    const SequenceRows& s = seqs[i];
    if (s.count == 0) continue;
    const int64_t end = s.before + s.count;
    for (int64_t b0 = s.before / w * w; b0 < end; b0 += w) {
      const int64_t first = std::max(b0, s.before), last = std::min(b0 + w, end);  // query positions
      for (int64_t qi = 0; qi < t.queries; ++qi) {
        const int64_t p = first + qi;
        const bool query = p < last;
        t.query_rows.push_back(query ? s.start + (p - s.before) : new_rows);
        if (query) t.output_slot[size_t(s.start + (p - s.before))] = t.blocks * t.queries + qi;
        for (int64_t kj = 0; kj < w; ++kj) {
          const int64_t pk = b0 + kj;
          t.allowed.push_back(query && pk < end && (!causal || pk <= p) ? 1.0 : 0.0);
        }
      }
      for (int64_t kj = 0; kj < w; ++kj) t.key_rows.push_back(b0 + kj < end ? key_row(i, b0 + kj) : zero_key);
      ++t.blocks;
    }
  }
  for (int64_t& slot : t.output_slot)
    if (slot < 0) slot = t.blocks * t.queries;  // padding rows read the zero row
  if (keep_cache)
    for (size_t i = 0; i < seqs.size(); ++i) {
      const int64_t end = seqs[i].before + seqs[i].count, fill = end % w;
      for (int64_t j = 0; j < w; ++j) t.next_cache.push_back(j < fill ? key_row(i, end - fill + j) : zero_key);
    }
  return t;
}

}  // namespace

DiagBlockAttention::DiagBlockAttention(const AttentionConfig& a, const ModelConfig& m, int64_t layer, Device device,
                                       DType dtype)
    : opt_(a),
      causal_(m.kind == ModelKind::decoder),
      heads_(m.heads),
      head_dim_(m.head_dim()),
      norm_eps_(m.norm.eps) {
  LINEA_CHECK_T(ConfigError, heads_ > 0 && m.hidden % heads_ == 0, "DiagBlockAttention: heads (", heads_,
                ") must divide hidden (", m.hidden, ")");
  LINEA_CHECK_T(ConfigError,
                a.block > 0 && a.window == 0 && (a.positions == PositionKind::none || a.positions == PositionKind::urpe),
                "DiagBlockAttention: block must be positive, window 0 and positions none or urpe, got block ", a.block);
  const int64_t C = m.hidden;
  qkv_proj_ = register_module("qkv_proj", std::make_shared<Linear>(C, 3 * C, true, device, dtype));
  out_proj_ = register_module("out_proj", std::make_shared<Linear>(C, C, true, device, dtype));
  if (a.positions == PositionKind::urpe) urpe_ = register_module("urpe", std::make_shared<Urpe>(head_dim_, layer, device, dtype));
}

Variable DiagBlockAttention::forward(const Variable& x, const SequenceContext& ctx) const {
  const int64_t B = ctx.B, T = ctx.T, H = heads_, Dh = head_dim_, C = H * Dh, w = opt_.block;
  LINEA_CHECK(x.dim() == 2 && x.size(0) == B * T, "DiagBlockAttention: expected x [", B * T, ", hidden], got ",
              x.data().desc());
  auto* state = static_cast<DiagBlockState*>(ctx.state);
  LINEA_CHECK(!state || causal_, "DiagBlockAttention: bidirectional attention has no decoding state");
  const std::vector<SequenceRows> seqs = sequence_rows(ctx, state);
  const bool cached = state && state->k.defined();
  const BlockTables t = block_tables(seqs, B * T, cached ? state->k.size(0) : 0, w, causal_, state != nullptr);

  const Variable qkv = reshape(qkv_proj_->forward(x), {B * T, 3, H, Dh});
  const Variable zero(Tensor::zeros({1, H, Dh}, x.dtype(), x.device()));
  auto keys_from = [&](const Variable& rows, const Tensor& cache) {
    std::vector<Variable> parts;
    if (cached) parts.emplace_back(cache);
    parts.push_back(rows);
    parts.push_back(zero);
    return concat(parts, 0);
  };
  // v1's order: q scaled first, then URPE on q and k (the cache keeps rotated keys).
  Variable q_new = scale(select(qkv, 1, 0), 1.0 / std::sqrt(double(Dh))), k_new = select(qkv, 1, 1);
  if (urpe_) {
    std::vector<int64_t> seen;
    for (const SequenceRows& s : seqs) seen.push_back(s.before);
    const Variable p(row_positions(ctx, seen, x.dtype(), x.device()).reshape({B * T, 1, 1}));
    q_new = urpe_->forward(q_new, p);
    k_new = urpe_->forward(k_new, p);
  }
  const Variable q_src = concat({q_new, zero}, 0);
  const Variable k_src = keys_from(k_new, cached ? state->k : Tensor());
  const Variable v_src = keys_from(select(qkv, 1, 2), cached ? state->v : Tensor());
  auto gather_blocks = [&](const Variable& src, const std::vector<int64_t>& rows, int64_t per_block) {
    const Variable g = index_select(src, 0, Tensor::from_indices(rows, x.device()));
    return contiguous(permute(reshape(g, {t.blocks, per_block, H, Dh}), {0, 2, 1, 3}));
  };
  const Variable q = gather_blocks(q_src, t.query_rows, t.queries);
  const Variable k = gather_blocks(k_src, t.key_rows, t.keys), v = gather_blocks(v_src, t.key_rows, t.keys);
  const Shape mask_shape{t.blocks, 1, t.queries, t.keys};
  const Variable scores = matmul(q, k, false, true);  // [blocks, H, queries, keys]
  Variable p;
  if (opt_.scores == BlockScores::softmax) {
    // Masked keys get -1e9 before the softmax: exp underflows to exactly 0 for them.
    std::vector<double> bias(t.allowed.size());
    std::transform(t.allowed.begin(), t.allowed.end(), bias.begin(), [](double a) { return a > 0 ? 0.0 : -1e9; });
    p = softmax(scores + Variable(Tensor::from_vector(bias, mask_shape, x.dtype(), x.device())));
  } else {
    p = relu(scores) * Variable(Tensor::from_vector(t.allowed, mask_shape, x.dtype(), x.device()));
  }
  Variable o = reshape(contiguous(permute(matmul(p, v), {0, 2, 1, 3})), {t.blocks * t.queries, C});
  o = index_select(concat({o, Variable(Tensor::zeros({1, C}, x.dtype(), x.device()))}, 0),
                   0, Tensor::from_indices(t.output_slot, x.device()));
  if (opt_.scores == BlockScores::relu) o = rms_norm(o, Variable(), norm_eps_);
  if (state) {
    const Tensor keep = Tensor::from_indices(t.next_cache, x.device());
    state->k = index_select(k_src, 0, keep).data();
    state->v = index_select(v_src, 0, keep).data();
    for (size_t i = 0; i < seqs.size(); ++i) state->lengths[i] += seqs[i].count;
  }
  if (ctx.output_rows.defined()) o = index_select(o, 0, ctx.output_rows);
  return out_proj_->forward(o);
}

std::unique_ptr<MixerState> DiagBlockAttention::new_state(int64_t batch) const {
  return std::make_unique<DiagBlockState>(batch);
}

double DiagBlockAttention::flops_per_token(int64_t seq_len) const {
  const double C = double(heads_ * head_dim_), within = double(std::min(seq_len, opt_.block));
  const double seen = causal_ ? (within + 1) / 2 : within;
  return 6 * (3 * C * C + C * C) + 3 * 4 * seen * C;
}

}  // namespace linea
