// Differentiable cumsum along one dim (backward: reverse cumsum of dy).
#pragma once
#include "autograd/variable.h"

namespace linea {
Variable cumsum(const Variable& x, int64_t dim);
}  // namespace linea
