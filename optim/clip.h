// Global gradient-norm clipping (torch.nn.utils.clip_grad_norm_) over named parameters.
#pragma once
#include "optim/optimizer.h"

namespace linea {

// Returns the L2 norm of all defined gradients together, before clipping (each grad's sum
// of squares in f32, f64 for f64 grads; summed in double). When it exceeds max_norm (> 0),
// every grad is scaled in place by max_norm / (norm + 1e-6). A non-finite norm (inf/NaN)
// is returned with the grads untouched, for the caller to report or skip the step.
double clip_grad_norm(const NamedParams& params, double max_norm);

}  // namespace linea
