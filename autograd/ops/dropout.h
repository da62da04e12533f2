// Differentiable dropout. The mask is drawn from `gen` (which reserves one Philox counter
// per 4 elements) and recomputed in the backward from the saved (seed, offset).
#pragma once
#include "autograd/variable.h"
#include "core/rng.h"

namespace linea {
// Identity when !training or p == 0 (no counters reserved); p must be in [0, 1).
Variable dropout(const Variable& x, double p, Generator& gen, bool training = true);
}  // namespace linea
