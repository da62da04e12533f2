// Embedding lookup and its backward, run on the gather / scatter_add kernels of
// core/kernels/gather.h (CPU: deterministic column-parallel sums; CUDA: f32 atomicAdd).
// Shapes: weight [V, C], ids [*] (i32/i64) -> out [*, C]; dweight [V, C].
#pragma once
#include "core/tensor.h"

namespace linea::kernels {

Tensor embedding_fwd(const Tensor& weight, const Tensor& ids);
// Rows of dy summed into the rows of a zero [vocab, C] gradient (fp32 accumulation).
Tensor embedding_bwd(const Tensor& ids, const Tensor& dy, int64_t vocab);

}  // namespace linea::kernels
