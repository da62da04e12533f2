// hedgehog_window_attention op: saves its inputs; the backward recomputes each block.
#include "autograd/ops/hedgehog_window.h"

#include "autograd/node.h"

namespace linea {

HedgehogWindowResult hedgehog_window_attention(const Variable& q, const Variable& k, const Variable& v,
                                               const Variable& fq, const Variable& fk, const Variable& gamma,
                                               const Variable& lambda, const kernels::HedgehogWindowOptions& options,
                                               const Variable& initial_S, const Variable& initial_z,
                                               bool final_state) {
  LINEA_CHECK(initial_S.defined() == initial_z.defined(), "hedgehog_window_attention: initial_S and initial_z go together");
  const kernels::LinearState s0 = initial_S.defined() ? kernels::LinearState{initial_S.data(), initial_z.data()}
                                                      : kernels::LinearState{};
  kernels::HedgehogWindowOutput r = kernels::hedgehog_window_fwd(q.data(), k.data(), v.data(), fq.data(), fk.data(),
                                                                 gamma.data(), lambda.data(), options, s0, final_state);
  std::vector<Variable> inputs = {q, k, v, fq, fk, gamma, lambda};
  if (s0.defined()) {
    inputs.push_back(initial_S);
    inputs.push_back(initial_z);
  }
  std::vector<Tensor> outputs = {r.out};
  if (final_state) {
    outputs.push_back(r.final_state.S);
    outputs.push_back(r.final_state.z);
  }
  std::vector<Variable> outs = record_op(
      "hedgehog_window_attention", outputs, inputs,
      [qt = q.data(), kt = k.data(), vt = v.data(), fqt = fq.data(), fkt = fk.data(), g = gamma.data(),
       l = lambda.data(), s0, options, final_state](std::vector<Tensor>& grads) {
        const kernels::LinearState dfinal =
            final_state ? kernels::LinearState{grads[1], grads[2]} : kernels::LinearState{};
        kernels::HedgehogWindowGrads d =
            kernels::hedgehog_window_bwd(qt, kt, vt, fqt, fkt, g, l, grads[0], options, s0, dfinal);
        std::vector<Tensor> r = {d.dq, d.dk, d.dv, d.dfq, d.dfk, d.dgamma, d.dlambda};
        if (s0.defined()) {
          r.push_back(d.dinitial_state.S);
          r.push_back(d.dinitial_state.z);
        }
        return r;
      });
  HedgehogWindowResult result{outs[0], Variable(), Variable()};
  if (final_state) {
    result.final_S = outs[1];
    result.final_z = outs[2];
  }
  return result;
}

}  // namespace linea
