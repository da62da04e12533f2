// Differentiable views: the results share storage with the input; gradients flow back
// through the inverse view (or, for expand, a sum over the broadcast dims).
#pragma once
#include <vector>

#include "autograd/variable.h"

namespace linea {

Variable reshape(const Variable& x, const Shape& shape);
Variable transpose(const Variable& x, int64_t d0, int64_t d1);
Variable permute(const Variable& x, const std::vector<int64_t>& dims);
Variable slice(const Variable& x, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
inline Variable narrow(const Variable& x, int64_t dim, int64_t start, int64_t length) {
  return slice(x, dim, start, start + length);
}
Variable select(const Variable& x, int64_t dim, int64_t index);
Variable expand(const Variable& x, const Shape& shape);
Variable unsqueeze(const Variable& x, int64_t dim);
Variable squeeze(const Variable& x, int64_t dim);
// A contiguous copy (identity gradient); a no-op when already contiguous.
Variable contiguous(const Variable& x);
// Dtype conversion (gradient converted back to the input's dtype).
Variable to_dtype(const Variable& x, DType dtype);

}  // namespace linea
