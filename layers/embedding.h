// Embedding layer: a [num_embeddings, dim] table looked up by integer ids.
#pragma once
#include "layers/module.h"

namespace linea {

class Embedding : public Module {
 public:
  // Weight zeros until initialized.
  Embedding(int64_t num_embeddings, int64_t dim, Device device = Device::cpu(), DType dtype = DType::f32);
  Variable forward(const Tensor& ids) const;  // ids i32/i64 [*] -> [*, dim]

  const Variable& weight() const { return weight_; }

 private:
  Variable weight_;
};

}  // namespace linea
