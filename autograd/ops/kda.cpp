// kda op: saves its inputs; the backward recomputes the chunk states (core/cpu/kda.cpp).
#include "autograd/ops/kda.h"

#include "autograd/node.h"

namespace linea {

KdaOutput kda(const Variable& q, const Variable& k, const Variable& v, const Variable& g, const Variable& beta,
              const kernels::KdaOptions& options, const Variable& initial_state) {
  const Tensor s0 = initial_state.defined() ? initial_state.data() : Tensor();
  Tensor final_state;
  Tensor out = kernels::kda_fwd(q.data(), k.data(), v.data(), g.data(), beta.data(), options, s0, &final_state);
  std::vector<Variable> inputs = {q, k, v, g, beta};
  if (initial_state.defined()) inputs.push_back(initial_state);
  std::vector<Variable> outs = record_op(
      "kda", {out, final_state}, inputs,
      [qt = q.data(), kt = k.data(), vt = v.data(), gt = g.data(), bt = beta.data(), s0,
       options](std::vector<Tensor>& grads) {
        kernels::KdaGrads r = kernels::kda_bwd(qt, kt, vt, gt, bt, grads[0], options, s0, grads[1]);
        std::vector<Tensor> result = {r.dq, r.dk, r.dv, r.dg, r.dbeta};
        if (s0.defined()) result.push_back(r.dinitial_state);
        return result;
      });
  return {outs[0], outs[1]};
}

}  // namespace linea
