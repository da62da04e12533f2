// Differentiable embedding lookup: out [*, C] = weight[ids[*], :]; the gradient flows to
// weight only (rows summed where ids repeat).
#pragma once
#include "autograd/variable.h"

namespace linea {
// ids: i32/i64 of any shape; weight [vocab, C].
Variable embedding(const Tensor& ids, const Variable& weight);
}  // namespace linea
