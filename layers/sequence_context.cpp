// PositionTables: cached RoPE tables and ALiBi slopes.
#include "layers/sequence_context.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace linea {

kernels::RopeTables PositionTables::rope(const AttentionConfig& a, int64_t head_dim, int64_t T, Device device) {
  std::optional<kernels::RopeScaling> scaling;
  if (a.rope_scaling) {
    const RopeScalingConfig& r = *a.rope_scaling;
    scaling = kernels::RopeScaling{r.factor, r.low_freq_factor, r.high_freq_factor,
                                   double(r.original_max_position_embeddings)};
  }
  auto same = [&](const std::optional<kernels::RopeScaling>& s) {
    if (s.has_value() != scaling.has_value()) return false;
    return !s || (s->factor == scaling->factor && s->low_freq_factor == scaling->low_freq_factor &&
                  s->high_freq_factor == scaling->high_freq_factor &&
                  s->original_max_position_embeddings == scaling->original_max_position_embeddings);
  };
  auto it = rope_.begin();
  while (it != rope_.end() && !(it->device == device && it->theta == a.rope_theta && it->head_dim == head_dim &&
                                same(it->scaling)))
    ++it;
  if (it == rope_.end() || it->tables.cos.size(0) < T) {
    // Decoding asks for one position more at every step: grow geometrically, so a table is
    // not recomputed per token (each row depends only on its position).
    const int64_t rows = it == rope_.end() ? T : std::max(T, 2 * it->tables.cos.size(0));
    kernels::RopeTables fresh = kernels::rope_tables(rows, head_dim, a.rope_theta, scaling ? &*scaling : nullptr, device);
    if (it == rope_.end()) {
      rope_.push_back({device, a.rope_theta, scaling, head_dim, fresh});
      it = rope_.end() - 1;
    } else {
      it->tables = fresh;
    }
  }
  return {it->tables.cos.narrow(0, 0, T), it->tables.sin.narrow(0, 0, T)};
}

Tensor PositionTables::alibi_slopes(int64_t heads, Device device) {
  for (const auto& [d, h, t] : alibi_)
    if (d == device && h == heads) return t;
  const std::vector<float> s = kernels::alibi_slopes(heads);
  Tensor t = Tensor::from_vector(std::vector<double>(s.begin(), s.end()), {heads}, DType::f32).to(device);
  alibi_.emplace_back(device, heads, t);
  return t;
}

Tensor PositionTables::sinusoids(int64_t hidden, int64_t T, Device device, DType dtype) {
  for (const auto& [d, t, h, table] : sinusoids_)
    if (d == device && t == dtype && h == hidden && table.size(0) >= T) return table;
  int64_t rows = 64;
  for (const auto& [d, t, h, table] : sinusoids_)
    if (d == device && t == dtype && h == hidden) rows = std::max(rows, 2 * table.size(0));
  while (rows < T) rows *= 2;
  const int64_t half = hidden / 2;
  LINEA_CHECK(half >= 2, "sinusoidal positions need hidden >= 4, got ", hidden);
  std::vector<double> values(size_t(rows * hidden), 0.0);
  for (int64_t p = 0; p < rows; ++p)
    for (int64_t i = 0; i < half; ++i) {
      const double angle = double(p + 2) * std::exp(-double(i) * std::log(10000.0) / double(half - 1));
      values[size_t(p * hidden + i)] = std::sin(angle);
      values[size_t(p * hidden + half + i)] = std::cos(angle);
    }
  Tensor table = Tensor::from_vector(values, {rows, hidden}, dtype).to(device);
  sinusoids_.erase(std::remove_if(sinusoids_.begin(), sinusoids_.end(),
                                  [&](const auto& e) {
                                    return std::get<0>(e) == device && std::get<1>(e) == dtype &&
                                           std::get<2>(e) == hidden;
                                  }),
                   sinusoids_.end());
  sinusoids_.emplace_back(device, dtype, hidden, table);
  return table;
}

Tensor row_positions(const SequenceContext& ctx, const std::vector<int64_t>& seen, DType dtype, Device device) {
  std::vector<double> positions(size_t(ctx.B * ctx.T), 0.0);
  const bool packed = !ctx.segments.empty();
  const int64_t sequences = packed ? int64_t(ctx.segments.start.size()) : ctx.B;
  LINEA_CHECK(seen.empty() || int64_t(seen.size()) == sequences, "row_positions: ", seen.size(),
              " sequence lengths for ", sequences, " sequences");
  for (int64_t s = 0; s < sequences; ++s) {
    const int64_t start = packed ? ctx.segments.start[size_t(s)] : s * ctx.T;
    const int64_t length = packed ? ctx.segments.length[size_t(s)] : ctx.T;
    const int64_t before = seen.empty() ? 0 : seen[size_t(s)];
    for (int64_t i = 0; i < length; ++i) positions[size_t(start + i)] = double(before + i);
  }
  return Tensor::from_vector(positions, {ctx.B, 1, ctx.T, 1}, dtype, device);
}

}  // namespace linea
