// Block recomputation (activation checkpointing): run a block without recording its
// graph, keep only its inputs, and re-run it with the graph on during backward. The
// default generator's state is restored for the re-run so dropout masks match.
#pragma once
#include <functional>
#include <vector>

#include "autograd/variable.h"

namespace linea {

using BlockFn = std::function<std::vector<Variable>(const std::vector<Variable>&)>;

// Returns fn(inputs). Gradients reach the inputs and every parameter fn uses.
std::vector<Variable> checkpoint(const BlockFn& fn, const std::vector<Variable>& inputs);

}  // namespace linea
