#include "core/rng.h"

#include "core/kernels/dispatch.h"
#include "core/kernels/random.h"

namespace linea {

Generator& default_generator() {
  static Generator gen(0x5eed);
  return gen;
}

namespace {
void fill_random(const char* op, const Tensor& out, Generator& gen, RandomKind kind, double a, double b) {
  check_floating(op, out);
  LINEA_CHECK(out.is_contiguous(), op, ": expected a contiguous tensor, got ", out.desc());
  int64_t words = kind == RandomKind::normal ? 2 * out.numel() : out.numel();
  RandomParams p{kind, gen.seed(), gen.reserve(words), float(a), float(b)};
  if (out.numel() == 0) return;
  LINEA_DISPATCH_DEVICE(out.device(), random_fill, out, p);
}
}  // namespace

void uniform_(const Tensor& out, Generator& gen, double low, double high) {
  fill_random("uniform_", out, gen, RandomKind::uniform, low, high);
}
void normal_(const Tensor& out, Generator& gen, double mean, double std) {
  fill_random("normal_", out, gen, RandomKind::normal, mean, std);
}
void bernoulli_(const Tensor& out, Generator& gen, double p) {
  LINEA_CHECK(p >= 0.0 && p <= 1.0, "bernoulli_: probability ", p, " outside [0, 1]");
  fill_random("bernoulli_", out, gen, RandomKind::bernoulli, p, 0.0);
}

Tensor rand_uniform(const Shape& shape, Generator& gen, DType dtype, Device device) {
  Tensor t = Tensor::empty(shape, dtype, device);
  uniform_(t, gen);
  return t;
}
Tensor rand_normal(const Shape& shape, Generator& gen, DType dtype, Device device) {
  Tensor t = Tensor::empty(shape, dtype, device);
  normal_(t, gen);
  return t;
}

}  // namespace linea
