// softmax / log_softmax ops: the backward needs only the output y, not x.
#include "autograd/ops/softmax.h"

#include "autograd/node.h"
#include "core/kernels/softmax.h"

namespace linea {
namespace {
Variable softmax_op(const Variable& x, bool log) {
  Tensor y = kernels::softmax(x.data(), log);
  return record_op(log ? "log_softmax" : "softmax", y, {x}, [y, log](const Tensor& g, const NeedsGrad&) {
    return std::vector<Tensor>{kernels::softmax_bwd(y, g, log)};
  });
}
}  // namespace

Variable softmax(const Variable& x) { return softmax_op(x, false); }
Variable log_softmax(const Variable& x) { return softmax_op(x, true); }

}  // namespace linea
