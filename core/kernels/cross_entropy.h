// Fused cross-entropy on logits: the mean NLL over non-ignored rows from a per-row
// logsumexp (the softmax is never materialized), and its one-kernel backward.
// Shapes: logits [*, V], targets [*] (i32 or i64) -> loss [] in logits' dtype; the
// backends see N rows of V classes.
#pragma once
#include "core/tensor.h"

namespace linea::kernels {

// loss = sum over rows with targets[n] != ignore_index of (lse[n] - logits[n, targets[n]]),
// divided by the number of such rows (count). lse[n] = logsumexp(logits[n]).
// When no row counts (all ignored, or N = 0) the loss is 0 and the gradient is 0, unlike
// PyTorch's NaN from 0 / 0: a batch of pure padding then leaves training unharmed.
// *lse receives [*] in f32 (f64 for f64; 0 for ignored rows) and *count a scalar of the
// same dtype; the backward needs both.
// A target outside [0, V) that is not ignore_index is a user error. The CPU kernel throws
// DataError naming the row, the id and V. The CUDA kernel cannot report it without a
// device sync, so it sets that row's lse and loss to NaN: the loss becomes NaN and the
// backward fills that row of dlogits with NaN.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index = -100, Tensor* lse = nullptr,
                     Tensor* count = nullptr);
// dlogits = (softmax(logits) - onehot(targets)) * dloss / max(count, 1), rows with
// ignored targets zero. dloss: scalar in logits' dtype (on logits' device).
Tensor cross_entropy_bwd(const Tensor& dloss, const Tensor& logits, const Tensor& targets, const Tensor& lse,
                         const Tensor& count, int64_t ignore_index = -100);

}  // namespace linea::kernels

namespace linea {
// For the backends: runs fn(TypeTag<T>, TypeTag<I>) for the logits dtype T and the target
// dtype I (i32 or i64).
template <class Fn>
void dispatch_logits_targets(const Tensor& logits, const Tensor& targets, const char* op, Fn&& fn) {
  dispatch_floating(logits.dtype(), op, [&](auto t) { dispatch_index(targets.dtype(), op, [&](auto i) { fn(t, i); }); });
}
}  // namespace linea

// Backends. logits, dlogits: contiguous [N, V]; targets: contiguous [N]; lse: [N] and
// count: [] in the accumulation dtype; loss, dloss: [] in logits' dtype. N, V > 0.
namespace linea::cpu {
void cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index, const Tensor& lse,
                   const Tensor& count, const Tensor& loss, int64_t N, int64_t V);
void cross_entropy_bwd(const Tensor& dloss, const Tensor& logits, const Tensor& targets, const Tensor& lse,
                       const Tensor& count, int64_t ignore_index, const Tensor& dlogits, int64_t N, int64_t V);
}  // namespace linea::cpu

namespace linea::cuda {
void cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index, const Tensor& lse,
                   const Tensor& count, const Tensor& loss, int64_t N, int64_t V);
void cross_entropy_bwd(const Tensor& dloss, const Tensor& logits, const Tensor& targets, const Tensor& lse,
                       const Tensor& count, int64_t ignore_index, const Tensor& dlogits, int64_t N, int64_t V);
}  // namespace linea::cuda
