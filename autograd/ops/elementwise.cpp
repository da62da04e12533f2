#include "autograd/ops/elementwise.h"

#include "autograd/node.h"
#include "core/kernels/elementwise.h"

namespace linea {

Variable unary(UnaryOp op, const Variable& x, double a, double b) {
  Tensor y = kernels::unary_fwd(op, x.data(), a, b);
  return record_op(unary_op_name(op), y, {x}, [op, xt = x.data(), y, a, b](const Tensor& g, const NeedsGrad&) {
    return std::vector<Tensor>{kernels::unary_bwd(op, xt, y, g, a, b)};
  });
}

Variable binary(BinaryOp op, const Variable& a, const Variable& b) {
  Tensor y = kernels::binary_fwd(op, a.data(), b.data());
  return record_op(binary_op_name(op), y, {a, b},
                   [op, at = a.data(), bt = b.data()](const Tensor& g, const NeedsGrad& needs) {
                     Tensor ga, gb;
                     kernels::binary_bwd(op, at, bt, g, needs[0] ? &ga : nullptr, needs[1] ? &gb : nullptr);
                     return std::vector<Tensor>{ga, gb};
                   });
}

}  // namespace linea
