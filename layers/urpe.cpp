#include "layers/urpe.h"

#include <cmath>

#include "autograd/ops/concat.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/matmul.h"
#include "autograd/ops/views.h"
#include "core/rng.h"

namespace linea {
namespace {

// The Philox stream of layer l's reflection vector (the seed spells "URPE").
constexpr uint64_t kUrpeSeed = 0x55525045;

}  // namespace

Urpe::Urpe(int64_t head_dim, int64_t layer, Device device, DType dtype) : head_dim_(head_dim) {
  LINEA_CHECK_T(ConfigError, head_dim > 0 && head_dim % 2 == 0, "Urpe: head_dim must be even, got ", head_dim);
  std::vector<double> theta(static_cast<size_t>(head_dim / 2));
  for (size_t j = 0; j < theta.size(); ++j) theta[j] = std::pow(10000.0, -2.0 * double(j) / double(head_dim));
  theta_ = register_parameter("theta", Variable(Tensor::from_vector(theta, {head_dim / 2}, dtype).to(device)));
  Generator gen(kUrpeSeed, uint64_t(layer) << 32);
  std::vector<double> v = rand_normal({head_dim}, gen, DType::f64).to_vector();
  double norm = 0;
  for (double x : v) norm += x * x;
  for (double& x : v) x /= std::sqrt(norm);
  register_buffer("householder_v", Tensor::from_vector(v, {head_dim, 1}, dtype).to(device));
}

Variable Urpe::forward(const Variable& x, const Variable& positions) const {
  const Shape shape = x.shape();
  LINEA_CHECK(!shape.empty() && shape.back() == head_dim_, "Urpe: expected x [..., ", head_dim_, "], got ",
              x.data().desc());
  const Variable v(buffer("householder_v"));
  const Variable reflected = x - scale(matmul(matmul(x, v), v, false, true), 2.0);
  // Channel pairs (2j, 2j + 1): [..., D] -> [..., D/2, 2].
  Shape pairs = shape;
  pairs.back() = head_dim_ / 2;
  pairs.push_back(2);
  const Variable split = reshape(reflected, pairs);
  const int64_t last = int64_t(pairs.size()) - 1;
  const Variable even = select(split, last, 0), odd = select(split, last, 1);
  Shape theta_shape(shape.size(), 1);
  theta_shape.back() = head_dim_ / 2;
  const Variable angles = positions * reshape(theta_, theta_shape);
  const Variable c = cos(angles), s = sin(angles);
  const Variable rotated = concat({unsqueeze(even * c - odd * s, last), unsqueeze(odd * c + even * s, last)}, last);
  return reshape(rotated, shape);
}

}  // namespace linea
