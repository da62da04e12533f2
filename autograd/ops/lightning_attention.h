// lightning_attention op: causal linear attention with per-head decay (core/kernels/
// lightning_attention.h), differentiable in q, k, v and the initial state; the final state
// is a second output, so a long sequence can be processed in chunks with gradients flowing
// from one chunk's final state into the next one's initial state.
#pragma once
#include "autograd/variable.h"
#include "core/kernels/lightning_attention.h"

namespace linea {

struct LightningOutput {
  Variable out;          // [B, H, T, Dv]
  Variable final_state;  // [N, H, Dk, Dv]: the state after each sequence (inclusive convention)
};

// initial_state: [N, H, Dk, Dv] or an undefined Variable for zeros.
LightningOutput lightning_attention(const Variable& q, const Variable& k, const Variable& v,
                                    const kernels::LightningOptions& options, const Variable& initial_state = Variable());

}  // namespace linea
