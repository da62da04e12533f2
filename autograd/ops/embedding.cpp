// embedding: forward lookup, backward scatter-add of dy rows into dweight.
#include "autograd/ops/embedding.h"

#include "autograd/node.h"
#include "core/kernels/embedding.h"

namespace linea {

Variable embedding(const Tensor& ids, const Variable& weight) {
  Tensor y = kernels::embedding_fwd(weight.data(), ids);
  return record_op("embedding", y, {weight}, [ids, vocab = weight.size(0)](const Tensor& g, const NeedsGrad&) {
    return std::vector<Tensor>{kernels::embedding_bwd(ids, g, vocab)};
  });
}

}  // namespace linea
