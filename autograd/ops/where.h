// Differentiable where(cond, a, b) with broadcasting and masked_fill; gradients are dy
// routed by the condition (summed over broadcast dims). Conditions and masks are u8.
#pragma once
#include "autograd/variable.h"

namespace linea {
Variable where(const Tensor& cond, const Variable& a, const Variable& b);
Variable masked_fill(const Variable& x, const Tensor& mask, double value);
}  // namespace linea
