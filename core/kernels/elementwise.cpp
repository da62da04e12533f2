#include "core/kernels/elementwise.h"

#include "core/kernels/dispatch.h"
#include "core/kernels/reduce.h"

namespace linea {

const char* unary_op_name(UnaryOp op) {
  static const char* names[] = {"neg",      "exp",      "log",     "sqrt",       "rsqrt", "tanh",
                                "sigmoid",  "relu",     "gelu_tanh", "gelu_erf", "silu",  "softplus",
                                "logsigmoid", "cos",    "sin",     "elu",        "pow",   "clamp",
                                "affine"};
  return names[int(op)];
}
const char* binary_op_name(BinaryOp op) {
  static const char* names[] = {"add", "sub", "mul", "div"};
  return names[int(op)];
}

namespace kernels {

Tensor unary_fwd(UnaryOp op, const Tensor& x, double a, double b) {
  check_floating(unary_op_name(op), x);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (x.numel() == 0) return y;
  auto idx = make_strided_offsets<2>(x.shape(), {x.strides(), y.strides()}, unary_op_name(op));
  LINEA_DISPATCH_DEVICE(x.device(), unary_fwd, op, x, y, a, b, idx);
  return y;
}

Tensor unary_bwd(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy, double a, double b) {
  const char* name = unary_op_name(op);
  for (const Tensor* t : {&y, &dy}) {
    check_same_device(name, x, *t);
    check_same_dtype(name, x, *t);
    LINEA_CHECK(t->shape() == x.shape(), name, " backward: expected ", shape_str(x.shape()), ", got ", t->desc());
  }
  Tensor dx = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (x.numel() == 0) return dx;
  auto idx = make_strided_offsets<4>(x.shape(), {x.strides(), y.strides(), dy.strides(), dx.strides()}, name);
  LINEA_DISPATCH_DEVICE(x.device(), unary_bwd, op, x, y, dy, dx, a, b, idx);
  return dx;
}

Tensor binary_fwd(BinaryOp op, const Tensor& a, const Tensor& b) {
  const char* name = binary_op_name(op);
  check_same_device(name, a, b);
  check_same_dtype(name, a, b);
  check_floating(name, a);
  Shape out = broadcast_shapes(name, a.shape(), b.shape());
  Tensor y = Tensor::empty(out, a.dtype(), a.device());
  if (y.numel() == 0) return y;
  auto idx = make_strided_offsets<3>(out, {broadcast_strides(a, out), broadcast_strides(b, out), y.strides()}, name);
  LINEA_DISPATCH_DEVICE(a.device(), binary_fwd, op, a, b, y, idx);
  return y;
}

void binary_bwd(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& dy, Tensor* da, Tensor* db) {
  const char* name = binary_op_name(op);
  Shape out = broadcast_shapes(name, a.shape(), b.shape());
  LINEA_CHECK(dy.shape() == out, name, " backward: gradient ", dy.desc(), ", expected shape ", shape_str(out));
  check_same_dtype(name, a, dy);
  check_same_device(name, a, dy);
  // Unreduced gradients stay in the accumulation dtype so bf16/f16 sums do not round per term.
  const DType acc = a.dtype() == DType::f64 ? DType::f64 : DType::f32;
  Tensor ga = da ? Tensor::empty(out, acc, a.device()) : Tensor();
  Tensor gb = db ? Tensor::empty(out, acc, a.device()) : Tensor();
  if (dy.numel() > 0) {
    auto idx = make_strided_offsets<3>(out, {broadcast_strides(a, out), broadcast_strides(b, out), dy.strides()}, name);
    LINEA_DISPATCH_DEVICE(a.device(), binary_bwd, op, a, b, dy, ga, gb, idx);
  }
  if (da) *da = sum_to(ga, a.shape()).to(a.dtype());
  if (db) *db = sum_to(gb, b.shape()).to(b.dtype());
}

}  // namespace kernels
}  // namespace linea
