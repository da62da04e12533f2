// concat (backward: split of dy) and split (multi-output; backward: concat of the part gradients).
#include "autograd/ops/concat.h"

#include "autograd/node.h"
#include "core/kernels/concat.h"

namespace linea {

Variable concat(const std::vector<Variable>& xs, int64_t dim) {
  std::vector<Tensor> data;
  std::vector<int64_t> sizes;
  for (const Variable& x : xs) data.push_back(x.data());
  Tensor y = kernels::concat(data, dim);
  dim = wrap_dim("concat", dim, y.dim());
  for (const Tensor& t : data) sizes.push_back(t.size(dim));
  return record_op("concat", y, xs, [sizes, dim](const Tensor& g, const NeedsGrad&) {
    return kernels::split(g, sizes, dim);
  });
}

std::vector<Variable> split(const Variable& x, const std::vector<int64_t>& sizes, int64_t dim) {
  std::vector<Tensor> parts = kernels::split(x.data(), sizes, dim);
  return record_op("split", parts, {x}, [dim](std::vector<Tensor>& grads) {
    return std::vector<Tensor>{kernels::concat(grads, dim)};
  });
}

}  // namespace linea
