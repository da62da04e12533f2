// scaled_dot_product_attention op: saves q, k, v, the output and the f32 logsumexp; the
// fused backward recomputes the probabilities tile by tile.
#include "autograd/ops/attention.h"

#include "autograd/node.h"

namespace linea {

Variable scaled_dot_product_attention(const Variable& q, const Variable& k, const Variable& v,
                                      const kernels::AttentionOptions& options) {
  Tensor lse;
  Tensor out = kernels::attention_fwd(q.data(), k.data(), v.data(), options, &lse);
  return record_op("scaled_dot_product_attention", out, {q, k, v},
                   [qt = q.data(), kt = k.data(), vt = v.data(), out, lse, options](const Tensor& g, const NeedsGrad&) {
                     kernels::AttentionGrads r = kernels::attention_bwd(qt, kt, vt, out, lse, g, options);
                     return std::vector<Tensor>{r.dq, r.dk, r.dv};
                   });
}

}  // namespace linea
