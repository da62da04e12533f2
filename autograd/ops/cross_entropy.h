// Differentiable fused cross-entropy: logits [*, V], targets [*] (i32 or i64 class ids)
// -> the scalar mean NLL over rows whose target is not ignore_index. See
// core/kernels/cross_entropy.h for all-ignored batches (loss 0) and invalid targets.
#pragma once
#include "autograd/variable.h"

namespace linea {

Variable cross_entropy(const Variable& logits, const Tensor& targets, int64_t ignore_index = -100);

}  // namespace linea
