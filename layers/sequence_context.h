// What a token mixer needs to know besides its input rows: how the rows form sequences,
// the position tables, which output rows are wanted and, when decoding, the layer's state.
#pragma once
#include <memory>
#include <tuple>
#include <vector>

#include "core/kernels/attention.h"
#include "core/kernels/rope.h"
#include "layers/model_config.h"

namespace linea {

// A layer's decoding state: what a token mixer keeps between prefill and each step (a KV
// cache, a window cache, a fixed-size recurrent state). One per layer and batch of
// sequences; Model::new_decoding_state makes them, the mixer alone reads and writes them.
class MixerState {
 public:
  virtual ~MixerState() = default;
  // Tokens of sequence b seen so far (prefill and steps).
  virtual int64_t length(int64_t b) const = 0;
};

// RoPE tables and ALiBi slopes, made once per device and options and shared by the layers
// of a model (a model with a layout may use several rope_theta values).
class PositionTables {
 public:
  // cos/sin [T, head_dim/2] of positions [0, T); the cached table at least doubles when it grows.
  kernels::RopeTables rope(const AttentionConfig& a, int64_t head_dim, int64_t T, Device device);
  // f32 [heads] slopes on `device`.
  Tensor alibi_slopes(int64_t heads, Device device);
  // fairseq's sinusoidal position embeddings [rows >= T, hidden] in dtype: row p holds position
  // p + 2 (fairseq numbers a sequence's first token padding_idx + 1 = 2), [sin(q f_i), cos(q f_i)]
  // for q = p + 2, f_i = 10000^(-i / (half - 1)), i < half = hidden / 2, then a zero column when
  // hidden is odd. Cached; grows (doubling) when a longer sequence asks.
  Tensor sinusoids(int64_t hidden, int64_t T, Device device, DType dtype);

 private:
  struct Rope {
    Device device;
    double theta;
    std::optional<kernels::RopeScaling> scaling;
    int64_t head_dim;
    kernels::RopeTables tables;
  };
  std::vector<Rope> rope_;
  std::vector<std::tuple<Device, int64_t, Tensor>> alibi_;
  std::vector<std::tuple<Device, DType, int64_t, Tensor>> sinusoids_;
};

struct SequenceContext {
  // The input rows x [B*T, hidden] are row b*T + t of batch entry b at time t.
  int64_t B = 0, T = 0;
  // Sequences on the rows (kernels::AttentionSegments): empty for B full sequences of length
  // T; packed(cu_seqlens) for unpadded batches (B = 1); padded(lengths, T) for rows whose
  // real tokens come first. A sequence's positions count from its first row.
  kernels::AttentionSegments segments;
  PositionTables* positions = nullptr;
  // i64 [S] on x's device: only these output rows are wanted (the encoder's last layer feeds
  // the MLM head only the masked rows); undefined for all rows.
  Tensor output_rows;
  // Decoding: this layer's state. A prefill (the state is empty) runs the parallel form and
  // fills it; a step (T = 1, one new token per sequence) reads and extends it.
  MixerState* state = nullptr;
};

// Each row's position in its sequence as a [B, 1, T, 1] tensor: sequence s's rows count from
// seen[s] (the tokens a decoding state has already taken; empty: from 0). Padding rows get 0.
Tensor row_positions(const SequenceContext& ctx, const std::vector<int64_t>& seen, DType dtype, Device device);

}  // namespace linea
