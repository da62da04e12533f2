// Differentiable rotary position embedding, rotate-half (Hugging Face Llama) convention:
// x [B,H,T,D], cos/sin [T, D/2] f32 tables from kernels::rope_tables -> [B,H,T,D].
#pragma once
#include "autograd/variable.h"

namespace linea {

// y[..., i] = x_i cos_i - x_{i+D/2} sin_i, y[..., i+D/2] = x_{i+D/2} cos_i + x_i sin_i.
// The tables are constants (no gradient); the backward rotates by the negative angle.
Variable rope(const Variable& x, const Tensor& cos, const Tensor& sin);

}  // namespace linea
