// The math of every elementwise op, forward and derivative, written once for host and
// device. CPU and CUDA kernels differ only in how they loop; ops are template
// parameters so each loop compiles to straight-line, vectorizable code.
#pragma once
#include <cmath>
#include <type_traits>

#include "core/half.h"
#include "core/kernels/fast_math.h"

namespace linea {

enum class UnaryOp : uint8_t {
  neg, exp, log, sqrt, rsqrt, tanh, sigmoid, relu, gelu_tanh, gelu_erf, silu, softplus, logsigmoid,
  cos, sin,  // positions: sinusoidal tables and LRPE's learnable angles
  elu,     // alpha = a
  pow,     // x ** a
  clamp,   // min(max(x, a), b); gradient passes where a <= x <= b
  affine,  // a * x + b (scalar multiply and add)
};
enum class BinaryOp : uint8_t { add, sub, mul, div };

const char* unary_op_name(UnaryOp op);
const char* binary_op_name(BinaryOp op);

namespace math {

template <class A> LINEA_HD A sigmoid(A x) { return A(1) / (A(1) + math::exp<A>(-x)); }
// log(1 + e^x) without overflow.
template <class A> LINEA_HD A softplus(A x) { return x > A(0) ? x + std::log1p(math::exp<A>(-x)) : std::log1p(math::exp<A>(x)); }

constexpr double kSqrt2OverPi = 0.7978845608028654;
constexpr double kInvSqrt2 = 0.7071067811865476;
constexpr double kInvSqrt2Pi = 0.3989422804014327;

template <UnaryOp Op, class A>
LINEA_HD A unary_fwd(A x, A a, A b) {
  if constexpr (Op == UnaryOp::neg) return -x;
  else if constexpr (Op == UnaryOp::exp) return math::exp<A>(x);
  else if constexpr (Op == UnaryOp::log) return std::log(x);
  else if constexpr (Op == UnaryOp::sqrt) return std::sqrt(x);
  else if constexpr (Op == UnaryOp::rsqrt) return A(1) / std::sqrt(x);
  else if constexpr (Op == UnaryOp::tanh) return math::tanh<A>(x);
  else if constexpr (Op == UnaryOp::sigmoid) return sigmoid(x);
  else if constexpr (Op == UnaryOp::relu) return x > A(0) ? x : A(0);
  else if constexpr (Op == UnaryOp::gelu_tanh)
    return A(0.5) * x * (A(1) + math::tanh<A>(A(kSqrt2OverPi) * (x + A(0.044715) * x * x * x)));
  else if constexpr (Op == UnaryOp::gelu_erf) return A(0.5) * x * (A(1) + std::erf(x * A(kInvSqrt2)));
  else if constexpr (Op == UnaryOp::silu) return x * sigmoid(x);
  else if constexpr (Op == UnaryOp::softplus) return softplus(x);
  else if constexpr (Op == UnaryOp::logsigmoid) return -softplus(-x);
  else if constexpr (Op == UnaryOp::cos) return std::cos(x);
  else if constexpr (Op == UnaryOp::sin) return std::sin(x);
  else if constexpr (Op == UnaryOp::elu) return x > A(0) ? x : a * (math::exp<A>(x) - A(1));
  else if constexpr (Op == UnaryOp::pow) return std::pow(x, a);
  else if constexpr (Op == UnaryOp::clamp) return x < a ? a : (x > b ? b : x);
  else return a * x + b;  // affine
}

// dL/dx given x, y = f(x) and dy = dL/dy.
template <UnaryOp Op, class A>
LINEA_HD A unary_bwd(A x, A y, A dy, A a, A b) {
  if constexpr (Op == UnaryOp::neg) return -dy;
  else if constexpr (Op == UnaryOp::exp) return dy * y;
  else if constexpr (Op == UnaryOp::log) return dy / x;
  else if constexpr (Op == UnaryOp::sqrt) return dy * A(0.5) / y;
  else if constexpr (Op == UnaryOp::rsqrt) return dy * A(-0.5) * y * y * y;
  else if constexpr (Op == UnaryOp::tanh) return dy * (A(1) - y * y);
  else if constexpr (Op == UnaryOp::sigmoid) return dy * y * (A(1) - y);
  else if constexpr (Op == UnaryOp::relu) return x > A(0) ? dy : A(0);
  else if constexpr (Op == UnaryOp::gelu_tanh) {
    A inner = A(kSqrt2OverPi) * (x + A(0.044715) * x * x * x);
    A t = math::tanh<A>(inner);
    A dinner = A(kSqrt2OverPi) * (A(1) + A(3 * 0.044715) * x * x);
    return dy * (A(0.5) * (A(1) + t) + A(0.5) * x * (A(1) - t * t) * dinner);
  } else if constexpr (Op == UnaryOp::gelu_erf) {
    A cdf = A(0.5) * (A(1) + std::erf(x * A(kInvSqrt2)));
    A pdf = A(kInvSqrt2Pi) * math::exp<A>(A(-0.5) * x * x);
    return dy * (cdf + x * pdf);
  } else if constexpr (Op == UnaryOp::silu) {
    A s = sigmoid(x);
    return dy * s * (A(1) + x * (A(1) - s));
  } else if constexpr (Op == UnaryOp::softplus) return dy * sigmoid(x);
  else if constexpr (Op == UnaryOp::logsigmoid) return dy * sigmoid(-x);
  else if constexpr (Op == UnaryOp::cos) return -dy * std::sin(x);
  else if constexpr (Op == UnaryOp::sin) return dy * std::cos(x);
  else if constexpr (Op == UnaryOp::elu) return x > A(0) ? dy : dy * (y + a);
  else if constexpr (Op == UnaryOp::pow) return dy * a * std::pow(x, a - A(1));
  else if constexpr (Op == UnaryOp::clamp) return (x < a || x > b) ? A(0) : dy;
  else return dy * a;  // affine
}

template <BinaryOp Op, class A>
LINEA_HD A binary_fwd(A x, A y) {
  if constexpr (Op == BinaryOp::add) return x + y;
  else if constexpr (Op == BinaryOp::sub) return x - y;
  else if constexpr (Op == BinaryOp::mul) return x * y;
  else return x / y;
}

// Partial derivatives times dz: (dL/dx, dL/dy) of z = x op y, before any broadcast reduction.
template <BinaryOp Op, class A>
LINEA_HD void binary_bwd(A x, A y, A dz, A& dx, A& dy) {
  if constexpr (Op == BinaryOp::add) { dx = dz; dy = dz; }
  else if constexpr (Op == BinaryOp::sub) { dx = dz; dy = -dz; }
  else if constexpr (Op == BinaryOp::mul) { dx = dz * y; dy = dz * x; }
  else { dx = dz / y; dy = -dz * x / (y * y); }
}

}  // namespace math

// Calls fn(std::integral_constant<UnaryOp, op>{}) so the op becomes a template argument.
template <class Fn>
decltype(auto) dispatch_unary_op(UnaryOp op, Fn&& fn) {
#define LINEA_UNARY_CASE(name) \
  case UnaryOp::name: return fn(std::integral_constant<UnaryOp, UnaryOp::name>{});
  switch (op) {
    LINEA_UNARY_CASE(neg) LINEA_UNARY_CASE(exp) LINEA_UNARY_CASE(log) LINEA_UNARY_CASE(sqrt)
    LINEA_UNARY_CASE(rsqrt) LINEA_UNARY_CASE(tanh) LINEA_UNARY_CASE(sigmoid) LINEA_UNARY_CASE(relu)
    LINEA_UNARY_CASE(gelu_tanh) LINEA_UNARY_CASE(gelu_erf) LINEA_UNARY_CASE(silu) LINEA_UNARY_CASE(softplus)
    LINEA_UNARY_CASE(logsigmoid) LINEA_UNARY_CASE(cos) LINEA_UNARY_CASE(sin) LINEA_UNARY_CASE(elu) LINEA_UNARY_CASE(pow) LINEA_UNARY_CASE(clamp)
    LINEA_UNARY_CASE(affine)
  }
#undef LINEA_UNARY_CASE
  return fn(std::integral_constant<UnaryOp, UnaryOp::affine>{});
}

template <class Fn>
decltype(auto) dispatch_binary_op(BinaryOp op, Fn&& fn) {
  switch (op) {
    case BinaryOp::add: return fn(std::integral_constant<BinaryOp, BinaryOp::add>{});
    case BinaryOp::sub: return fn(std::integral_constant<BinaryOp, BinaryOp::sub>{});
    case BinaryOp::mul: return fn(std::integral_constant<BinaryOp, BinaryOp::mul>{});
    case BinaryOp::div: break;
  }
  return fn(std::integral_constant<BinaryOp, BinaryOp::div>{});
}

}  // namespace linea
