// The one validation of AttentionSegments that every sequence-mixing kernel's check runs:
// empty segments become B full rows of T; each segment must lie within one batch entry,
// after the previous one (so no two sequences write the same rows).
#pragma once
#include "core/kernels/attention.h"

namespace linea::kernels {

// Resolves `seg` in place for a [B * T]-row layout; returns how many rows the segments cover
// (B * T: no padding rows to zero).
int64_t resolve_segments(const char* op, AttentionSegments& seg, int64_t B, int64_t T);

}  // namespace linea::kernels
