// dropout: Philox-masked forward; the backward recomputes the mask from (seed, offset).
#include "autograd/ops/dropout.h"

#include "autograd/node.h"
#include "core/kernels/dropout.h"

namespace linea {

Variable dropout(const Variable& x, double p, Generator& gen, bool training) {
  kernels::check_dropout_p(p);
  if (!training || p == 0.0) return x;
  const uint64_t seed = gen.seed(), offset = gen.reserve(x.numel());
  Tensor y = kernels::dropout_fwd(x.data(), p, seed, offset);
  return record_op("dropout", y, {x}, [p, seed, offset](const Tensor& g, const NeedsGrad&) {
    return std::vector<Tensor>{kernels::dropout_bwd(g, p, seed, offset)};
  });
}

}  // namespace linea
