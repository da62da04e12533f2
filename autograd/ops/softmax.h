// Differentiable softmax and log_softmax over the last dim (x [*, C] -> [*, C]).
#pragma once
#include "autograd/variable.h"

namespace linea {

Variable softmax(const Variable& x);
Variable log_softmax(const Variable& x);

}  // namespace linea
