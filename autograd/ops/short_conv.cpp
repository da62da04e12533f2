// short_conv op: saves its inputs.
#include "autograd/ops/short_conv.h"

#include "autograd/node.h"

namespace linea {

ShortConvOutput short_conv(const Variable& x, const Variable& weight, const kernels::AttentionSegments& segments,
                           const Variable& initial_state) {
  const Tensor s0 = initial_state.defined() ? initial_state.data() : Tensor();
  Tensor final_state;
  Tensor y = kernels::short_conv_fwd(x.data(), weight.data(), segments, s0, &final_state);
  std::vector<Variable> inputs = {x, weight};
  if (initial_state.defined()) inputs.push_back(initial_state);
  std::vector<Variable> outs = record_op(
      "short_conv", {y, final_state}, inputs,
      [xt = x.data(), wt = weight.data(), segments, s0](std::vector<Tensor>& grads) {
        kernels::ShortConvGrads g = kernels::short_conv_bwd(xt, wt, grads[0], segments, s0, grads[1]);
        std::vector<Tensor> r = {g.dx, g.dweight};
        if (s0.defined()) r.push_back(g.dinitial_state);
        return r;
      });
  return {outs[0], outs[1]};
}

}  // namespace linea
