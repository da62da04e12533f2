// Triangular masks over the last two dims: tril keeps col - row <= diagonal, triu keeps
// col - row >= diagonal; other elements become `value` (0, or -inf for causal masks).
// Backward is the same mask with value 0. Shapes: x [*, R, C] -> y [*, R, C].
#pragma once
#include "core/kernels/strided.h"
#include "core/tensor.h"

namespace linea {
struct TriangleSpec {
  int64_t rows = 0, cols = 0;  // the last two dims
  int64_t diagonal = 0;
  bool upper = false;          // triu when true, tril otherwise
  // Whether the element at (r, c) is kept.
  LINEA_HD bool keep(int64_t r, int64_t c) const { return upper ? c - r >= diagonal : c - r <= diagonal; }
};
}  // namespace linea

namespace linea::kernels {
Tensor tril(const Tensor& x, int64_t diagonal = 0, double value = 0.0);
Tensor triu(const Tensor& x, int64_t diagonal = 0, double value = 0.0);
// dx: dy masked like the forward, zeros outside.
Tensor triangular_bwd(const Tensor& dy, int64_t diagonal, bool upper);
}  // namespace linea::kernels

namespace linea::cpu {
// idx operands: x, out (contiguous).
void triangular(const Tensor& x, const Tensor& out, const TriangleSpec& spec, double value,
                const StridedOffsets<2>& idx);
}
namespace linea::cuda {
void triangular(const Tensor& x, const Tensor& out, const TriangleSpec& spec, double value,
                const StridedOffsets<2>& idx);
}
