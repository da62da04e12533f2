// SimpleRMSNorm and the norm factory.
#include "layers/norm.h"

#include "autograd/ops/rms_norm.h"
#include "layers/layer_norm.h"
#include "layers/rms_norm.h"

namespace linea {

Variable SimpleRMSNorm::forward(const Variable& x) const { return rms_norm(x, Variable(), eps_); }

std::shared_ptr<Norm> make_norm(const NormConfig& n, int64_t dim, Device device, DType dtype) {
  switch (n.kind) {
    case NormKind::rmsnorm: return std::make_shared<RMSNorm>(dim, n.eps, device, dtype);
    case NormKind::layernorm: return std::make_shared<LayerNorm>(dim, n.eps, true, device, dtype);
    case NormKind::simple_rmsnorm: return std::make_shared<SimpleRMSNorm>(n.eps);
  }
  throw ConfigError(str_cat("make_norm: unknown norm kind ", int(n.kind)));
}

}  // namespace linea
