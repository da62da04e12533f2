// Differentiable batched matrix multiply (broadcast batch dims, optional transposes)
// and linear (y = x W^T + b).
#pragma once
#include "autograd/variable.h"

namespace linea {

// a [..., M, K] ([..., K, M] when trans_a) times b [..., K, N] ([..., N, K] when trans_b)
// -> [broadcast batch..., M, N]. Gradients are summed back over broadcast batch dims.
Variable matmul(const Variable& a, const Variable& b, bool trans_a = false, bool trans_b = false);

// x [..., in], weight [out, in], bias [out] or undefined -> y [..., out].
Variable linear(const Variable& x, const Variable& weight, const Variable& bias = Variable());

}  // namespace linea
