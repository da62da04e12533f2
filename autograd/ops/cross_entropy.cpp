// cross_entropy op: saves logits, targets, the f32 per-row logsumexp and the row count;
// the backward is one kernel writing (softmax - onehot) * dloss / count.
#include "autograd/ops/cross_entropy.h"

#include "autograd/node.h"
#include "core/kernels/cross_entropy.h"

namespace linea {

Variable cross_entropy(const Variable& logits, const Tensor& targets, int64_t ignore_index) {
  Tensor lse, count;
  Tensor loss = kernels::cross_entropy(logits.data(), targets, ignore_index, &lse, &count);
  return record_op("cross_entropy", loss, {logits},
                   [x = logits.data(), targets, lse, count, ignore_index](const Tensor& g, const NeedsGrad&) {
                     return std::vector<Tensor>{kernels::cross_entropy_bwd(g, x, targets, lse, count, ignore_index)};
                   });
}

}  // namespace linea
