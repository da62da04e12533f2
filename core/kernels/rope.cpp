// RoPE tables (host-side in double, Llama 3.1 rescaling) and validation / dispatch of the
// rotation kernels.
#include "core/kernels/rope.h"

#include <cmath>

#include "core/kernels/dispatch.h"

namespace linea::kernels {

std::vector<double> rope_inv_freq(int64_t D, double theta, const RopeScaling* scaling) {
  LINEA_CHECK(D > 0 && D % 2 == 0, "rope: head dim must be positive and even, got ", D);
  LINEA_CHECK(theta > 0, "rope: theta must be positive, got ", theta);
  std::vector<double> inv(size_t(D / 2));
  for (int64_t i = 0; i < D / 2; ++i) inv[size_t(i)] = std::pow(theta, -double(2 * i) / double(D));
  if (!scaling) return inv;
  const RopeScaling& s = *scaling;
  LINEA_CHECK(s.factor > 0 && s.low_freq_factor > 0 && s.high_freq_factor > s.low_freq_factor &&
                  s.original_max_position_embeddings > 0,
              "rope: llama3 scaling needs factor > 0, 0 < low_freq_factor < high_freq_factor and "
              "original_max_position_embeddings > 0, got factor ",
              s.factor, ", low_freq_factor ", s.low_freq_factor, ", high_freq_factor ", s.high_freq_factor,
              ", original_max_position_embeddings ", s.original_max_position_embeddings);
  const double L = s.original_max_position_embeddings;
  const double low_freq_wavelen = L / s.low_freq_factor, high_freq_wavelen = L / s.high_freq_factor;
  for (double& f : inv) {
    const double wavelen = 2 * M_PI / f;
    if (wavelen > low_freq_wavelen) {
      f /= s.factor;
    } else if (wavelen >= high_freq_wavelen) {
      const double smooth = (L / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      f = (1 - smooth) * f / s.factor + smooth * f;
    }
  }
  return inv;
}

RopeTables rope_tables(int64_t T, int64_t D, double theta, const RopeScaling* scaling, Device device, int64_t offset) {
  LINEA_CHECK(T >= 0 && offset >= 0, "rope_tables: T and offset must be non-negative, got T = ", T, ", offset = ",
              offset);
  const std::vector<double> inv = rope_inv_freq(D, theta, scaling);
  const int64_t half = D / 2;
  std::vector<double> c(size_t(T * half)), s(size_t(T * half));
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t i = 0; i < half; ++i) {
      const double angle = double(offset + t) * inv[size_t(i)];
      c[size_t(t * half + i)] = std::cos(angle);
      s[size_t(t * half + i)] = std::sin(angle);
    }
  }
  return RopeTables{Tensor::from_vector(c, {T, half}, DType::f32, device),
                    Tensor::from_vector(s, {T, half}, DType::f32, device)};
}

namespace {
Tensor rotate(const char* op, const Tensor& x, const Tensor& cos, const Tensor& sin, bool inverse) {
  check_floating(op, x);
  check_same_device(op, x, cos);
  check_same_device(op, x, sin);
  LINEA_CHECK(x.dim() >= 2, op, ": expected x [..., T, D], got ", x.desc());
  const int64_t T = x.size(-2), D = x.size(-1);
  LINEA_CHECK(D % 2 == 0, op, ": head dim D must be even, got ", x.desc());
  for (const Tensor* t : {&cos, &sin}) {
    LINEA_CHECK(t->dtype() == DType::f32 && t->dim() == 2 && t->size(0) >= T && t->size(1) == D / 2, op, ": ",
                (t == &cos ? "cos " : "sin "), t->desc(), " should be f32[>= ", T, ", ", D / 2, "] for x ", x.desc());
  }
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (y.numel() == 0) return y;
  LINEA_DISPATCH_DEVICE(x.device(), rope, x.contiguous(), cos.contiguous(), sin.contiguous(), y, y.numel() / (T * D),
                        T, D, inverse);
  return y;
}
}  // namespace

Tensor rope_fwd(const Tensor& x, const Tensor& cos, const Tensor& sin) { return rotate("rope", x, cos, sin, false); }
Tensor rope_bwd(const Tensor& dy, const Tensor& cos, const Tensor& sin) {
  return rotate("rope backward", dy, cos, sin, true);
}

}  // namespace linea::kernels
