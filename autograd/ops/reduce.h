// Differentiable reductions: sum, mean, max over dims (empty dims = all).
#pragma once
#include <vector>

#include "autograd/variable.h"

namespace linea {

Variable sum(const Variable& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Variable mean(const Variable& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Gradient flows to the first maximal element of each reduced group.
Variable max(const Variable& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);

}  // namespace linea
