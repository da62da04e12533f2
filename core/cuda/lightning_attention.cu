// CUDA Lightning attention: the forward pass and all three gradients are decayed linear
// attentions over each sequence (core/cuda/linear_sweep.cuh), with the roles
//   out = sweep(q, k, v; S0, forward, e = 1)             final X = the final state
//   dq  = sweep(dO, v, k; S0ᵀ, forward, e = 1)
//   dk  = sweep(v, dO, q; dS_finalᵀ, reverse, e = 0)
//   dv  = sweep(k, q, dO; dS_final, reverse, e = 0)      final X = the initial state's gradient
// (in reverse time the carried X is λ G of the state gradient G of the row just left, so
// G's recurrence needs no division by λ, and after the last block X = λ G_0 = dS_0).
// Non-causal (no decay): the same role table gives every gradient.
#include "core/cuda/linear_sweep.cuh"
#include "core/cuda/sequence_kernels.cuh"
#include "core/kernels/lightning_attention.h"

namespace linea::cuda {
namespace {

// The device tables of one call and the sweep layout pointing at them (so not copyable).
struct Tables {
  Tables(const LightningDims& d, Device device)
      : segments(upload_segment_table(d.seg_start, d.seg_length, d.segments, device)),
        decay(upload_f64(d.decay, d.H, device)),
        layout{d.H, d.T, d.segments, &segments, &decay} {}
  Tables(const Tables&) = delete;
  Tables& operator=(const Tables&) = delete;
  const Tensor segments, decay;
  const SweepLayout layout;
};

}  // namespace

void lightning_attn_fwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                        const Tensor& initial_state, const Tensor& final_state, const LightningDims& d) {
  const Tables t(d, q.device());
  linear_sweep("lightning_attn_fwd",
               {&q, &k, &v, &out, &initial_state, &final_state, d.Dk, d.Dv, false, false, d.causal, 1}, t.layout);
}

void lightning_attn_bwd(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& dout,
                        const Tensor& initial_state, const Tensor& dfinal_state, const Tensor& dq, const Tensor& dk,
                        const Tensor& dv, const Tensor& dinitial_state, const LightningDims& d) {
  const char* op = "lightning_attn_bwd";
  const Tables t(d, q.device());
  const Tensor none;
  linear_sweep(op, {&dout, &v, &k, &dq, &initial_state, &none, d.Dv, d.Dk, true, false, d.causal, 1}, t.layout);
  linear_sweep(op, {&v, &dout, &q, &dk, &dfinal_state, &none, d.Dv, d.Dk, true, true, d.causal, 0}, t.layout);
  linear_sweep(op, {&k, &q, &dout, &dv, &dfinal_state, &dinitial_state, d.Dk, d.Dv, false, true, d.causal, 0},
               t.layout);
}

}  // namespace linea::cuda
