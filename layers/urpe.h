// Urpe: TransNormer v1's unitary relative positional encoding as the released fairseq-evo
// configuration uses it (core_matrix 1, p_matrix 3, theta_learned; specs/transnormer.md
// §1.5): per head, x_p <- R(p θ) H x_p with H = I - 2 v vᵀ, a Householder reflection by a fixed
// random unit vector v [D], and R a rotation of the channel pairs (2j, 2j + 1) by p θ_j, θ [D/2]
// learnable from 10000^(-2j/D) and shared by the heads. Both factors are orthogonal, so
// q_t · k_s = (H q)ᵀ R((s - t) θ) (H k) depends on s - t only: relative positions that also
// survive linear attention's factorization. v is a buffer drawn from a Philox stream keyed by
// the layer, so a model is the same however it is built, and checkpoints carry it.
#pragma once
#include "layers/module.h"

namespace linea {

class Urpe : public Module {
 public:
  // head_dim must be even.
  Urpe(int64_t head_dim, int64_t layer, Device device, DType dtype);
  // x [..., D]; positions: each row's position, broadcastable to x's shape with the last dim 1.
  Variable forward(const Variable& x, const Variable& positions) const;

 private:
  int64_t head_dim_;
  Variable theta_;  // [D/2]; the buffer householder_v holds v [D, 1], unit norm
};

}  // namespace linea
