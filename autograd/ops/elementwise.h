// Differentiable elementwise ops: unary math, scalar affine, and broadcasting binary ops.
#pragma once
#include "autograd/variable.h"
#include "core/kernels/elementwise_math.h"

namespace linea {

Variable unary(UnaryOp op, const Variable& x, double a = 0.0, double b = 0.0);
inline Variable neg(const Variable& x) { return unary(UnaryOp::neg, x); }
inline Variable exp(const Variable& x) { return unary(UnaryOp::exp, x); }
inline Variable log(const Variable& x) { return unary(UnaryOp::log, x); }
inline Variable sqrt(const Variable& x) { return unary(UnaryOp::sqrt, x); }
inline Variable rsqrt(const Variable& x) { return unary(UnaryOp::rsqrt, x); }
inline Variable tanh(const Variable& x) { return unary(UnaryOp::tanh, x); }
inline Variable sigmoid(const Variable& x) { return unary(UnaryOp::sigmoid, x); }
inline Variable relu(const Variable& x) { return unary(UnaryOp::relu, x); }
inline Variable gelu(const Variable& x, bool tanh_approx = false) {
  return unary(tanh_approx ? UnaryOp::gelu_tanh : UnaryOp::gelu_erf, x);
}
inline Variable silu(const Variable& x) { return unary(UnaryOp::silu, x); }
inline Variable softplus(const Variable& x) { return unary(UnaryOp::softplus, x); }
inline Variable logsigmoid(const Variable& x) { return unary(UnaryOp::logsigmoid, x); }
inline Variable cos(const Variable& x) { return unary(UnaryOp::cos, x); }
inline Variable sin(const Variable& x) { return unary(UnaryOp::sin, x); }
inline Variable elu(const Variable& x, double alpha = 1.0) { return unary(UnaryOp::elu, x, alpha); }
inline Variable pow(const Variable& x, double exponent) { return unary(UnaryOp::pow, x, exponent); }
inline Variable clamp(const Variable& x, double lo, double hi) { return unary(UnaryOp::clamp, x, lo, hi); }
inline Variable scale(const Variable& x, double s) { return unary(UnaryOp::affine, x, s, 0.0); }
inline Variable add_scalar(const Variable& x, double c) { return unary(UnaryOp::affine, x, 1.0, c); }

Variable binary(BinaryOp op, const Variable& a, const Variable& b);
inline Variable add(const Variable& a, const Variable& b) { return binary(BinaryOp::add, a, b); }
inline Variable sub(const Variable& a, const Variable& b) { return binary(BinaryOp::sub, a, b); }
inline Variable mul(const Variable& a, const Variable& b) { return binary(BinaryOp::mul, a, b); }
inline Variable div(const Variable& a, const Variable& b) { return binary(BinaryOp::div, a, b); }
inline Variable operator+(const Variable& a, const Variable& b) { return add(a, b); }
inline Variable operator-(const Variable& a, const Variable& b) { return sub(a, b); }
inline Variable operator*(const Variable& a, const Variable& b) { return mul(a, b); }
inline Variable operator/(const Variable& a, const Variable& b) { return div(a, b); }

}  // namespace linea
