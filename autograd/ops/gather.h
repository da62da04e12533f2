// Differentiable indexed ops: gather (backward: scatter_add), index_select (backward:
// index_add) and scatter_add (backward: dy to base, gather of dy to src). Indices are
// plain i32/i64 tensors and receive no gradient.
#pragma once
#include "autograd/variable.h"

namespace linea {
Variable gather(const Variable& x, int64_t dim, const Tensor& index);
Variable index_select(const Variable& x, int64_t dim, const Tensor& index);
Variable scatter_add(const Variable& base, int64_t dim, const Tensor& index, const Variable& src);
}  // namespace linea
