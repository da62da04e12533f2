// Validation, allocation and device dispatch of the fused cross-entropy and its backward.
#include "core/kernels/cross_entropy.h"

#include "core/kernels/dispatch.h"

namespace linea::kernels {
namespace {

constexpr const char* kOp = "cross_entropy";

// logits [*, V] floating with V > 0, targets [*] i32/i64 on the same device.
void check_inputs(const Tensor& logits, const Tensor& targets) {
  check_floating(kOp, logits);
  check_same_device(kOp, logits, targets);
  LINEA_CHECK(logits.dim() >= 1 && logits.size(-1) > 0, kOp, ": expected logits [*, V] with V > 0, got ",
              logits.desc());
  LINEA_CHECK(targets.dtype() == DType::i32 || targets.dtype() == DType::i64, kOp,
              ": targets must be i32 or i64 class ids, got ", targets.desc());
  const Shape rows(logits.shape().begin(), logits.shape().end() - 1);
  LINEA_CHECK(targets.shape() == rows, kOp, ": targets ", targets.desc(), " must have logits' leading shape ",
              shape_str(rows), " (logits ", logits.desc(), ")");
}

DType acc_dtype(DType t) { return t == DType::f64 ? DType::f64 : DType::f32; }

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index, Tensor* lse, Tensor* count) {
  check_inputs(logits, targets);
  const int64_t V = logits.size(-1), N = logits.numel() / V;
  const DType acc = acc_dtype(logits.dtype());
  Tensor loss = Tensor::empty({}, logits.dtype(), logits.device());
  Tensor l = Tensor::empty(targets.shape(), acc, logits.device());
  Tensor c = Tensor::empty({}, acc, logits.device());
  if (N > 0) {
    LINEA_DISPATCH_DEVICE(logits.device(), cross_entropy, logits.contiguous(), targets.contiguous(), ignore_index, l,
                          c, loss, N, V);
  } else {
    loss.zero_();
    c.zero_();
  }
  if (lse) *lse = l;
  if (count) *count = c;
  return loss;
}

Tensor cross_entropy_bwd(const Tensor& dloss, const Tensor& logits, const Tensor& targets, const Tensor& lse,
                         const Tensor& count, int64_t ignore_index) {
  check_inputs(logits, targets);
  const int64_t V = logits.size(-1), N = logits.numel() / V;
  const DType acc = acc_dtype(logits.dtype());
  check_same_device(kOp, logits, dloss);
  check_same_dtype(kOp, logits, dloss);
  LINEA_CHECK(dloss.numel() == 1, kOp, " backward: expected a scalar loss gradient, got ", dloss.desc());
  LINEA_CHECK(lse.dtype() == acc && lse.numel() == N && lse.device() == logits.device() && count.dtype() == acc &&
                  count.numel() == 1 && count.device() == logits.device(),
              kOp, " backward: saved lse ", lse.desc(), " and count ", count.desc(), " do not match logits ",
              logits.desc());
  Tensor dlogits = Tensor::empty(logits.shape(), logits.dtype(), logits.device());
  if (N > 0)
    LINEA_DISPATCH_DEVICE(logits.device(), cross_entropy_bwd, dloss.contiguous(), logits.contiguous(),
                          targets.contiguous(), lse.contiguous(), count, ignore_index, dlogits, N, V);
  return dlogits;
}

}  // namespace linea::kernels
