// hedgehog_window_attention op: LoLCATs' hybrid window softmax + linear attention
// (core/kernels/hedgehog_window.h), differentiable in q, k, v, the feature maps' outputs,
// the per-head weights γ and λ, and the initial linear state.
#pragma once
#include "autograd/variable.h"
#include "core/kernels/hedgehog_window.h"

namespace linea {

struct HedgehogWindowResult {
  Variable out;              // [B, H, T, Dv]
  Variable final_S, final_z;  // with final_state: the state over all but each sequence's last w tokens
};

// initial_S [N, H, F, Dv] and initial_z [N, H, F]: both or neither (undefined: zeros).
HedgehogWindowResult hedgehog_window_attention(const Variable& q, const Variable& k, const Variable& v,
                                               const Variable& fq, const Variable& fk, const Variable& gamma,
                                               const Variable& lambda, const kernels::HedgehogWindowOptions& options,
                                               const Variable& initial_S = Variable(),
                                               const Variable& initial_z = Variable(), bool final_state = false);

}  // namespace linea
