// The backward engine: walks the graph from the roots in reverse topological order
// (a node runs once all its consumers have), sums gradients per node output, and frees
// each node's saved tensors after it runs unless the graph is retained.
#pragma once
#include <vector>

#include "autograd/variable.h"

namespace linea {

// grads[i] seeds roots[i]; an undefined grad means ones (roots[i] must be a scalar).
void run_backward(const std::vector<Variable>& roots, const std::vector<Tensor>& grads, bool retain_graph = false);

}  // namespace linea
