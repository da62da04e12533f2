// Differentiable rms_norm over the last dim: x [*, C], optional weight [C] (pass an
// undefined Variable to omit it) -> [*, C].
#pragma once
#include "autograd/variable.h"

namespace linea {

Variable rms_norm(const Variable& x, const Variable& weight = Variable(), double eps = 1e-6);

}  // namespace linea
