// cumsum: backward is the reverse cumsum of dy.
#include "autograd/ops/cumsum.h"

#include "autograd/node.h"
#include "core/kernels/cumsum.h"

namespace linea {

Variable cumsum(const Variable& x, int64_t dim) {
  return record_op("cumsum", kernels::cumsum(x.data(), dim), {x}, [dim](const Tensor& g, const NeedsGrad&) {
    return std::vector<Tensor>{kernels::cumsum_bwd(g, dim)};
  });
}

}  // namespace linea
