// Differentiable triangular masks over the last two dims: tril keeps col - row <= diagonal,
// triu keeps col - row >= diagonal, everything else becomes `value` (e.g. -inf for a
// causal attention mask) and receives no gradient.
#pragma once
#include "autograd/variable.h"

namespace linea {
Variable tril(const Variable& x, int64_t diagonal = 0, double value = 0.0);
Variable triu(const Variable& x, int64_t diagonal = 0, double value = 0.0);
}  // namespace linea
