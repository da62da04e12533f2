// Strided copy with dtype conversion and constant fill: the kernels behind
// Tensor::contiguous, to(dtype), copy_ and fill_.
#pragma once
#include "core/kernels/strided.h"
#include "core/tensor.h"

namespace linea::kernels {

// dst[i] = convert(src[i]); src is broadcast to dst's shape. Same device; any dtypes.
void copy(const Tensor& dst, const Tensor& src);
void fill(const Tensor& dst, double value);

}  // namespace linea::kernels

namespace linea::cpu {
void copy(const Tensor& dst, const Tensor& src, const StridedOffsets<2>& idx);
void fill(const Tensor& dst, double value, const StridedOffsets<1>& idx);
}  // namespace linea::cpu
namespace linea::cuda {
void copy(const Tensor& dst, const Tensor& src, const StridedOffsets<2>& idx);
void fill(const Tensor& dst, double value, const StridedOffsets<1>& idx);
}  // namespace linea::cuda
