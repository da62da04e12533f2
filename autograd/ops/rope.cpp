// rope op: linear in x, so the backward needs only the tables (rotation by -angle).
#include "autograd/ops/rope.h"

#include "autograd/node.h"
#include "core/kernels/rope.h"

namespace linea {

Variable rope(const Variable& x, const Tensor& cos, const Tensor& sin) {
  Tensor y = kernels::rope_fwd(x.data(), cos, sin);
  return record_op("rope", y, {x}, [cos, sin](const Tensor& g, const NeedsGrad&) {
    return std::vector<Tensor>{kernels::rope_bwd(g, cos, sin)};
  });
}

}  // namespace linea
