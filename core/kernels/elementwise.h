// Elementwise unary and binary kernels (broadcasting, any strides) with hand-written
// backward kernels. Outputs are new contiguous tensors of the input dtype.
// Shapes: x [*], a [*a], b [*b] -> y [broadcast(*a, *b)].
#pragma once
#include "core/kernels/elementwise_math.h"
#include "core/kernels/strided.h"
#include "core/tensor.h"

namespace linea::kernels {

// a, b are the op's scalar parameters (elu alpha, pow exponent, clamp bounds, affine scale/shift).
Tensor unary_fwd(UnaryOp op, const Tensor& x, double a = 0.0, double b = 0.0);
// dx from x, y = f(x) and dy.
Tensor unary_bwd(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy, double a = 0.0, double b = 0.0);

Tensor binary_fwd(BinaryOp op, const Tensor& a, const Tensor& b);
// Gradients of both operands, summed over broadcast dims back to a's and b's shapes.
// Either output may be skipped by passing nullptr.
void binary_bwd(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& dy, Tensor* da, Tensor* db);

}  // namespace linea::kernels

namespace linea::cpu {
void unary_fwd(UnaryOp op, const Tensor& x, const Tensor& y, double a, double b, const StridedOffsets<2>& idx);
void unary_bwd(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& dx, double a, double b,
               const StridedOffsets<4>& idx);
void binary_fwd(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& y, const StridedOffsets<3>& idx);
// ga, gb: contiguous at y's shape in the accumulation dtype (f32, f64 for f64), or undefined.
void binary_bwd(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& dy, const Tensor& ga, const Tensor& gb,
                const StridedOffsets<3>& idx);
}  // namespace linea::cpu

namespace linea::cuda {
void unary_fwd(UnaryOp op, const Tensor& x, const Tensor& y, double a, double b, const StridedOffsets<2>& idx);
void unary_bwd(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& dx, double a, double b,
               const StridedOffsets<4>& idx);
void binary_fwd(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& y, const StridedOffsets<3>& idx);
void binary_bwd(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& dy, const Tensor& ga, const Tensor& gb,
                const StridedOffsets<3>& idx);
}  // namespace linea::cuda
