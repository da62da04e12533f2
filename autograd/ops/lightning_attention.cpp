// lightning_attention op: saves its inputs; the backward recomputes the block states.
#include "autograd/ops/lightning_attention.h"

#include "autograd/node.h"

namespace linea {

LightningOutput lightning_attention(const Variable& q, const Variable& k, const Variable& v,
                                    const kernels::LightningOptions& options, const Variable& initial_state) {
  const Tensor s0 = initial_state.defined() ? initial_state.data() : Tensor();
  Tensor final_state;
  Tensor out = kernels::lightning_attn_fwd(q.data(), k.data(), v.data(), options, s0, &final_state);
  std::vector<Variable> inputs = {q, k, v};
  if (initial_state.defined()) inputs.push_back(initial_state);
  std::vector<Variable> outs = record_op(
      "lightning_attention", {out, final_state}, inputs,
      [qt = q.data(), kt = k.data(), vt = v.data(), s0, options](std::vector<Tensor>& grads) {
        kernels::LightningGrads g = kernels::lightning_attn_bwd(qt, kt, vt, grads[0], options, s0, grads[1]);
        std::vector<Tensor> r = {g.dq, g.dk, g.dv};
        if (s0.defined()) r.push_back(g.dinitial_state);
        return r;
      });
  return {outs[0], outs[1]};
}

}  // namespace linea
