// Reductions over any set of dims (sum, mean, max with argmax), their backward, and
// sum_to (the broadcast-undo that elementwise backward uses).
// Shapes: x [*] -> y [* with reduced dims removed, or kept as 1 when keepdim].
#pragma once
#include <vector>

#include "core/kernels/strided.h"
#include "core/tensor.h"

namespace linea {

enum class ReduceOp : uint8_t { sum, mean, max };
const char* reduce_op_name(ReduceOp op);

// The geometry of one reduction: `outer` walks the kept dims of x (and y, contiguous),
// `inner` walks the reduced dims of x. reduce_count is the number of reduced elements.
struct ReducePlan {
  StridedOffsets<1> outer;
  StridedOffsets<1> inner;
  int64_t out_count = 0;
  int64_t reduce_count = 0;
  // x contiguous with the reduced dims leading: y[c] = op over r of x[r * out_count + c].
  bool columns = false;
};

}  // namespace linea

namespace linea::kernels {

// Empty dims = reduce all. For max, *argmax (if given) receives i64 indices into the
// flattened reduced dims: the first maximum on ties; a NaN is the maximum (it propagates,
// like torch.max), the first NaN when there are several. Both devices agree on this.
Tensor reduce(ReduceOp op, const Tensor& x, std::vector<int64_t> dims, bool keepdim, Tensor* argmax = nullptr);
// dx of shape x_shape from dy (shape of the reduce output, keepdim or not).
Tensor reduce_bwd(ReduceOp op, const Shape& x_shape, const Tensor& dy, std::vector<int64_t> dims, bool keepdim,
                  const Tensor& argmax = Tensor());
// Sums x over the dims that broadcasting from `shape` added or expanded.
Tensor sum_to(const Tensor& x, const Shape& shape);

}  // namespace linea::kernels

namespace linea::cpu {
void reduce(ReduceOp op, const Tensor& x, const Tensor& y, const Tensor& argmax, const ReducePlan& plan);
void max_bwd(const Tensor& dy, const Tensor& argmax, const Tensor& dx, const ReducePlan& plan);
}  // namespace linea::cpu
namespace linea::cuda {
void reduce(ReduceOp op, const Tensor& x, const Tensor& y, const Tensor& argmax, const ReducePlan& plan);
void max_bwd(const Tensor& dy, const Tensor& argmax, const Tensor& dx, const ReducePlan& plan);
}  // namespace linea::cuda
