// The one validation of AttentionSegments that every sequence-mixing kernel's check runs:
// empty segments become B full rows of T; each segment must lie within one batch entry,
// after the previous one (so no two sequences write the same rows).
#pragma once
#include "core/kernels/attention.h"

namespace linea::kernels {

// Resolves `seg` in place for a [B * T]-row layout; returns how many rows the segments cover
// (B * T: no padding rows to zero).
int64_t resolve_segments(const char* op, AttentionSegments& seg, int64_t B, int64_t T);

// The sequence-mixing kernels' dispatch helpers: an optional state made contiguous (undefined
// stays undefined), and an output shaped `shape` in x's dtype and device, zeroed when some
// rows (padding) are never written.
inline Tensor contiguous_or_undefined(const Tensor& t) { return t.defined() ? t.contiguous() : Tensor(); }
inline Tensor output_like(const Tensor& x, const Shape& shape, bool zeroed) {
  return zeroed ? Tensor::zeros(shape, x.dtype(), x.device()) : Tensor::empty(shape, x.dtype(), x.device());
}

}  // namespace linea::kernels
