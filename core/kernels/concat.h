// Concatenation along a dim and its inverse, split (views). concat copies each input into
// its slice of the output with the strided copy kernel of core/kernels/copy.h.
// Shapes: concat [..., n_i, ...] (same elsewhere) -> [..., sum n_i, ...]; split is the reverse.
#pragma once
#include <vector>

#include "core/tensor.h"

namespace linea::kernels {
Tensor concat(const std::vector<Tensor>& xs, int64_t dim);
// Views of x along dim with the given sizes (which must sum to x.size(dim)).
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim);
}  // namespace linea::kernels
