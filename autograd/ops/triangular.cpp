// tril / triu: backward masks dy with the same triangle.
#include "autograd/ops/triangular.h"

#include "autograd/node.h"
#include "core/kernels/triangular.h"

namespace linea {
namespace {
Variable record_triangular(const char* name, Tensor y, const Variable& x, int64_t diagonal, bool upper) {
  return record_op(name, std::move(y), {x}, [diagonal, upper](const Tensor& g, const NeedsGrad&) {
    return std::vector<Tensor>{kernels::triangular_bwd(g, diagonal, upper)};
  });
}
}  // namespace

Variable tril(const Variable& x, int64_t diagonal, double value) {
  return record_triangular("tril", kernels::tril(x.data(), diagonal, value), x, diagonal, false);
}
Variable triu(const Variable& x, int64_t diagonal, double value) {
  return record_triangular("triu", kernels::triu(x.data(), diagonal, value), x, diagonal, true);
}

}  // namespace linea
