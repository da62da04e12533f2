// Rotary position embedding, rotate-half (Hugging Face Llama) convention: the cos/sin
// tables (with the optional Llama 3.1 frequency rescaling) and the rotation kernels.
// Shapes: x [..., T, D] (usually [B,H,T,D]), tables [>= T, D/2] f32 (rows past T unused).
#pragma once
#include <vector>

#include "core/tensor.h"

namespace linea::kernels {

// Llama 3.1 `rope_scaling` (HF rope_type "llama3", _compute_llama3_parameters). With
// wavelen_i = 2 pi / inv_freq_i, L = original_max_position_embeddings:
//   wavelen_i < L / high_freq_factor  -> inv_freq_i unchanged (high frequencies)
//   wavelen_i > L / low_freq_factor   -> inv_freq_i / factor (low frequencies)
//   otherwise, with s = (L / wavelen_i - low_freq_factor) / (high_freq_factor - low_freq_factor):
//     inv_freq_i * ((1 - s) / factor + s)
struct RopeScaling {
  double factor = 8.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  double original_max_position_embeddings = 8192;
};

// inv_freq_i = theta^(-2i/D) for i in [0, D/2), rescaled when `scaling` is non-null.
std::vector<double> rope_inv_freq(int64_t D, double theta, const RopeScaling* scaling);

struct RopeTables {
  Tensor cos, sin;  // [T, D/2] f32
};
// Row t holds cos / sin of (offset + t) * inv_freq_i, computed in double and rounded
// once to f32 (HF forms the angle in f32, so it differs by ~1 f32 ulp of the angle).
RopeTables rope_tables(int64_t T, int64_t D, double theta, const RopeScaling* scaling, Device device,
                       int64_t offset = 0);

// y[..., i] = x_i cos_i - x_{i+D/2} sin_i, y[..., i+D/2] = x_{i+D/2} cos_i + x_i sin_i,
// i.e. y = x * cos + rotate_half(x) * sin with the tables repeated over both halves.
Tensor rope_fwd(const Tensor& x, const Tensor& cos, const Tensor& sin);
// The transpose of rope_fwd: rotation by the negative angle.
Tensor rope_bwd(const Tensor& dy, const Tensor& cos, const Tensor& sin);

}  // namespace linea::kernels

namespace linea::cpu {
// x, y: contiguous [N, T, D] of one floating dtype; cos/sin contiguous f32 rows of D/2
// (row t at t * D/2). inverse rotates by -angle.
void rope(const Tensor& x, const Tensor& cos, const Tensor& sin, const Tensor& y, int64_t N, int64_t T, int64_t D,
          bool inverse);
}  // namespace linea::cpu

namespace linea::cuda {
void rope(const Tensor& x, const Tensor& cos, const Tensor& sin, const Tensor& y, int64_t N, int64_t T, int64_t D,
          bool inverse);
}  // namespace linea::cuda
