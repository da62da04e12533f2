// One decayed linear attention over each sequence, swept forward or backward in time (the
// mechanism of the CUDA Lightning attention and the linear half of hedgehog_window):
//   out'_a = Σ_{c<=a} λ^(a-c) (q'_a · k'_c) v'_c + λ^(a+e) q'_a X,
//   X <- λ^m X + Σ_c λ^(m-c-e) k'_cᵀ v'_c          (after a block of m rows),
// X starting at x0 (zeros when undefined), ending in x_final (when defined). Reverse sweeps
// visit each sequence from its last row. Non-causal: X = X0 + Σ k'ᵀ v' over the whole
// sequence (λ = 1), then out' = q' X. q', k' [B, H, T, Da]; v', out' [B, H, T, Db] of one
// dtype (f32, bf16, f16); x0 [N, H, Da, Db] (or [N, H, Db, Da] with x0_transposed);
// x_final [N, H, Da, Db]; Da <= 320. Rows outside every sequence are not written.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace linea::cuda {

struct LinearSweep {
  const Tensor *q, *k, *v, *out, *x0, *x_final;  // x0 and x_final may be undefined tensors
  int64_t Da, Db;
  bool x0_transposed = false, reverse = false, causal = true;
  int e = 1;  // 1: row a of a block sees λ^(a+1) of X (forward, inclusive state), 0: λ^a (reverse)
};

// The sequences: segments [2, N] i64 on the device (starts in [B*T] rows, then lengths);
// decay [H] f64 on the device (s_h, λ = exp(-s_h)) or undefined for λ = 1.
struct SweepLayout {
  int64_t H, T, N;
  const Tensor* segments;
  const Tensor* decay;
};

void linear_sweep(const char* op, const LinearSweep& sweep, const SweepLayout& layout);

}  // namespace linea::cuda
