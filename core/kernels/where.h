// Elementwise selection: where(cond, a, b) with broadcasting and masked_fill, plus their
// backward kernels (dy routed by the condition, summed back over broadcast dims).
// Shapes: cond [*c] u8, a [*a], b [*b] -> out [broadcast(*c, *a, *b)]; masked_fill keeps x's shape.
#pragma once
#include "core/kernels/strided.h"
#include "core/tensor.h"

namespace linea::kernels {

// out = cond != 0 ? a : b. a and b share a floating dtype.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
// da = sum_to(cond ? dy : 0, a_shape), db = sum_to(cond ? 0 : dy, b_shape); nullptr skips one.
void where_bwd(const Tensor& cond, const Shape& a_shape, const Shape& b_shape, const Tensor& dy, Tensor* da,
               Tensor* db);
// x with `value` wherever mask (broadcast to x's shape) is nonzero.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);
// dy with the masked positions zeroed.
Tensor masked_fill_bwd(const Tensor& mask, const Tensor& dy);

}  // namespace linea::kernels

namespace linea::cpu {
// idx operands: cond, a, b, out.
void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out, const StridedOffsets<4>& idx);
}
namespace linea::cuda {
void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out, const StridedOffsets<4>& idx);
}
