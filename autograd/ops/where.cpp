// where and masked_fill: dy routed by the condition.
#include "autograd/ops/where.h"

#include "autograd/node.h"
#include "core/kernels/where.h"

namespace linea {

Variable where(const Tensor& cond, const Variable& a, const Variable& b) {
  Tensor y = kernels::where(cond, a.data(), b.data());
  return record_op("where", y, {a, b},
                   [cond, sa = a.shape(), sb = b.shape()](const Tensor& g, const NeedsGrad& needs) {
                     Tensor da, db;
                     kernels::where_bwd(cond, sa, sb, g, needs[0] ? &da : nullptr, needs[1] ? &db : nullptr);
                     return std::vector<Tensor>{da, db};
                   });
}

Variable masked_fill(const Variable& x, const Tensor& mask, double value) {
  Tensor y = kernels::masked_fill(x.data(), mask, value);
  return record_op("masked_fill", y, {x}, [mask](const Tensor& g, const NeedsGrad&) {
    return std::vector<Tensor>{kernels::masked_fill_bwd(mask, g)};
  });
}

}  // namespace linea
