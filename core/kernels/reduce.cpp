#include "core/kernels/reduce.h"

#include <algorithm>

#include "core/kernels/dispatch.h"
#include "core/kernels/elementwise.h"

namespace linea {

const char* reduce_op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum: return "sum";
    case ReduceOp::mean: return "mean";
    case ReduceOp::max: return "max";
  }
  return "?";
}

namespace kernels {
namespace {

std::vector<bool> reduced_mask(const char* op, int64_t ndim, std::vector<int64_t>& dims) {
  std::vector<bool> mask(ndim, dims.empty());
  for (int64_t& d : dims) {
    d = wrap_dim(op, d, ndim);
    LINEA_CHECK(!mask[d] || dims.empty(), op, ": dim ", d, " listed twice");
    mask[d] = true;
  }
  return mask;
}

Shape reduced_shape(const Shape& x, const std::vector<bool>& mask, bool keepdim) {
  Shape s;
  for (size_t d = 0; d < x.size(); ++d) {
    if (!mask[d]) s.push_back(x[d]);
    else if (keepdim) s.push_back(1);
  }
  return s;
}

ReducePlan make_plan(const char* op, const Tensor& x, const std::vector<bool>& mask) {
  Shape outer_shape, outer_strides, inner_shape, inner_strides;
  for (int64_t d = 0; d < x.dim(); ++d) {
    (mask[d] ? inner_shape : outer_shape).push_back(x.size(d));
    (mask[d] ? inner_strides : outer_strides).push_back(x.stride(d));
  }
  ReducePlan p;
  p.outer = make_strided_offsets<1>(outer_shape, {outer_strides}, op);
  p.inner = make_strided_offsets<1>(inner_shape, {inner_strides}, op);
  p.out_count = shape_numel(outer_shape);
  p.reduce_count = shape_numel(inner_shape);
  bool leading = true;  // all reduced dims come before all kept dims
  for (int64_t d = 1; d < x.dim(); ++d)
    if (mask[d] && !mask[d - 1]) leading = false;
  p.columns = x.is_contiguous() && leading && p.out_count > 1 && p.reduce_count > 1;
  return p;
}

}  // namespace

Tensor reduce(ReduceOp op, const Tensor& x, std::vector<int64_t> dims, bool keepdim, Tensor* argmax) {
  const char* name = reduce_op_name(op);
  check_floating(name, x);
  std::vector<bool> mask = reduced_mask(name, x.dim(), dims);
  ReducePlan plan = make_plan(name, x, mask);
  LINEA_CHECK(plan.reduce_count > 0 || op != ReduceOp::max, name, ": cannot take the max over an empty dim of ",
              x.desc());
  Tensor y = Tensor::empty(reduced_shape(x.shape(), mask, keepdim), x.dtype(), x.device());
  Tensor idx = op == ReduceOp::max ? Tensor::empty(y.shape(), DType::i64, x.device()) : Tensor();
  if (plan.out_count > 0) LINEA_DISPATCH_DEVICE(x.device(), reduce, op, x, y, idx, plan);
  if (argmax) *argmax = idx;
  return y;
}

Tensor reduce_bwd(ReduceOp op, const Shape& x_shape, const Tensor& dy, std::vector<int64_t> dims, bool keepdim,
                  const Tensor& argmax) {
  const char* name = reduce_op_name(op);
  std::vector<bool> mask = reduced_mask(name, int64_t(x_shape.size()), dims);
  Shape kept = reduced_shape(x_shape, mask, true);
  LINEA_CHECK(dy.numel() == shape_numel(kept), name, " backward: gradient ", dy.desc(), " does not match ",
              shape_str(reduced_shape(x_shape, mask, keepdim)));
  Tensor dx = Tensor::empty(x_shape, dy.dtype(), dy.device());
  if (op == ReduceOp::max) {
    LINEA_CHECK(argmax.defined(), "max backward: argmax indices are required");
    dx.zero_();
    ReducePlan plan = make_plan(name, dx, mask);
    if (plan.out_count > 0) LINEA_DISPATCH_DEVICE(dx.device(), max_bwd, dy.contiguous(), argmax, dx, plan);
    return dx;
  }
  Tensor g = dy.reshape(kept).expand(x_shape);
  if (op == ReduceOp::sum) {
    dx.copy_(g);
    return dx;
  }
  int64_t count = 1;
  for (size_t d = 0; d < x_shape.size(); ++d)
    if (mask[d]) count *= x_shape[d];
  return unary_fwd(UnaryOp::affine, g, count > 0 ? 1.0 / double(count) : 0.0, 0.0);
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  LINEA_CHECK(broadcast_shapes("sum_to", shape, x.shape()) == x.shape(), "sum_to: cannot reduce ", x.desc(), " to ",
              shape_str(shape));
  std::vector<int64_t> dims;
  const int64_t lead = x.dim() - int64_t(shape.size());
  for (int64_t d = 0; d < x.dim(); ++d)
    if (d < lead || (shape[d - lead] == 1 && x.size(d) != 1)) dims.push_back(d);
  if (dims.empty()) return x.reshape(shape);
  return reduce(ReduceOp::sum, x, dims, false).reshape(shape);
}

}  // namespace kernels
}  // namespace linea
