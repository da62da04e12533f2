// CUDA twins of core/kernels/copy.h.
#pragma once
#include "core/kernels/strided.h"

namespace linea::cuda {
void copy(const Tensor& dst, const Tensor& src, const StridedOffsets<2>& idx);
void fill(const Tensor& dst, double value, const StridedOffsets<1>& idx);
}  // namespace linea::cuda
