#include "autograd/ops/reduce.h"

#include "autograd/node.h"
#include "core/kernels/reduce.h"

namespace linea {
namespace {
Variable reduce_op(ReduceOp op, const Variable& x, const std::vector<int64_t>& dims, bool keepdim) {
  Tensor argmax;
  Tensor y = kernels::reduce(op, x.data(), dims, keepdim, op == ReduceOp::max ? &argmax : nullptr);
  // Backward needs only x's shape (and argmax for max), never x's values.
  return record_op(reduce_op_name(op), y, {x}, [op, shape = x.shape(), dims, keepdim, argmax](const Tensor& g, const NeedsGrad&) {
    return std::vector<Tensor>{kernels::reduce_bwd(op, shape, g, dims, keepdim, argmax)};
  });
}
}  // namespace

Variable sum(const Variable& x, const std::vector<int64_t>& dims, bool keepdim) {
  return reduce_op(ReduceOp::sum, x, dims, keepdim);
}
Variable mean(const Variable& x, const std::vector<int64_t>& dims, bool keepdim) {
  return reduce_op(ReduceOp::mean, x, dims, keepdim);
}
Variable max(const Variable& x, const std::vector<int64_t>& dims, bool keepdim) {
  return reduce_op(ReduceOp::max, x, dims, keepdim);
}

}  // namespace linea
