// Differentiable layer_norm over the last dim: x [*, C], optional weight [C] and bias [C]
// (pass an undefined Variable to omit either) -> [*, C].
#pragma once
#include "autograd/variable.h"

namespace linea {

Variable layer_norm(const Variable& x, const Variable& weight = Variable(), const Variable& bias = Variable(),
                    double eps = 1e-5);

}  // namespace linea
