// kda op: Kimi Delta Attention's gated delta rule (core/kernels/kda.h), differentiable in q, k,
// v, the log decays g, β and the initial state; the final state is a second output, so a long
// sequence can be processed in pieces with gradients flowing from one piece's final state
// into the next one's initial state.
#pragma once
#include "autograd/variable.h"
#include "core/kernels/kda.h"

namespace linea {

struct KdaOutput {
  Variable out;          // [B, HV, T, V]
  Variable final_state;  // [N, HV, K, V]
};

// q, k [B, H, T, K]; v [B, HV, T, V]; g [B, HV, T, K]; beta [B, HV, T]; initial_state
// [N, HV, K, V] or an undefined Variable for zeros. The chunked algorithm, saving only its inputs.
KdaOutput kda(const Variable& q, const Variable& k, const Variable& v, const Variable& g, const Variable& beta,
              const kernels::KdaOptions& options, const Variable& initial_state = Variable());

}  // namespace linea
