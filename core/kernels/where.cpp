// Validation, broadcasting and dispatch of where / masked_fill and their backward.
#include "core/kernels/where.h"

#include "core/kernels/dispatch.h"
#include "core/kernels/reduce.h"

namespace linea::kernels {
namespace {

void check_cond(const char* op, const Tensor& cond, const Tensor& other) {
  LINEA_CHECK(cond.dtype() == DType::u8, op, ": condition must be u8, got ", cond.desc());
  check_same_device(op, cond, other);
}

// The shared body: out [out_shape] = cond ? a : b, every operand broadcast to out_shape.
Tensor select(const char* op, const Tensor& cond, const Tensor& a, const Tensor& b, const Shape& out_shape) {
  Tensor out = Tensor::empty(out_shape, a.dtype(), a.device());
  if (out.numel() == 0) return out;
  auto idx = make_strided_offsets<4>(out_shape,
                                     {broadcast_strides(cond, out_shape), broadcast_strides(a, out_shape),
                                      broadcast_strides(b, out_shape), out.strides()},
                                     op);
  LINEA_DISPATCH_DEVICE(a.device(), where, cond, a, b, out, idx);
  return out;
}

Tensor zero_like_scalar(const Tensor& t) { return Tensor::zeros({}, t.dtype(), t.device()); }

}  // namespace

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_cond("where", cond, a);
  check_same_device("where", a, b);
  check_same_dtype("where", a, b);
  check_floating("where", a);
  Shape out = broadcast_shapes("where", cond.shape(), broadcast_shapes("where", a.shape(), b.shape()));
  return select("where", cond, a, b, out);
}

void where_bwd(const Tensor& cond, const Shape& a_shape, const Shape& b_shape, const Tensor& dy, Tensor* da,
               Tensor* db) {
  check_cond("where backward", cond, dy);
  Shape out = broadcast_shapes("where backward", cond.shape(), broadcast_shapes("where backward", a_shape, b_shape));
  LINEA_CHECK(dy.shape() == out, "where backward: gradient ", dy.desc(), ", expected shape ", shape_str(out));
  Tensor zero = zero_like_scalar(dy);
  if (da) *da = sum_to(select("where backward", cond, dy, zero, out), a_shape);
  if (db) *db = sum_to(select("where backward", cond, zero, dy, out), b_shape);
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  check_cond("masked_fill", mask, x);
  check_floating("masked_fill", x);
  LINEA_CHECK(broadcast_shapes("masked_fill", mask.shape(), x.shape()) == x.shape(), "masked_fill: mask ",
              mask.desc(), " cannot be broadcast to x ", x.desc());
  return select("masked_fill", mask, Tensor::scalar(value, x.dtype(), x.device()), x, x.shape());
}

Tensor masked_fill_bwd(const Tensor& mask, const Tensor& dy) {
  check_cond("masked_fill backward", mask, dy);
  LINEA_CHECK(broadcast_shapes("masked_fill backward", mask.shape(), dy.shape()) == dy.shape(),
              "masked_fill backward: mask ", mask.desc(), " cannot be broadcast to gradient ", dy.desc());
  return select("masked_fill backward", mask, zero_like_scalar(dy), dy, dy.shape());
}

}  // namespace linea::kernels
