// Embedding layer.
#include "layers/embedding.h"

#include "autograd/ops/embedding.h"

namespace linea {

Embedding::Embedding(int64_t num_embeddings, int64_t dim, Device device, DType dtype) {
  weight_ = register_parameter("weight", Variable(Tensor::zeros({num_embeddings, dim}, dtype, device)));
}

Variable Embedding::forward(const Tensor& ids) const { return embedding(ids, weight_); }

}  // namespace linea
