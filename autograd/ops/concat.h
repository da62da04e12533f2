// Differentiable concat and split (split has one output per part; its backward
// concatenates the parts' gradients, zeros for parts that received none).
#pragma once
#include <vector>

#include "autograd/variable.h"

namespace linea {
Variable concat(const std::vector<Variable>& xs, int64_t dim);
std::vector<Variable> split(const Variable& x, const std::vector<int64_t>& sizes, int64_t dim);
}  // namespace linea
