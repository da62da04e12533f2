// Validation, planning and device dispatch of gather / scatter_add / index_select / index_add.
#include "core/kernels/gather.h"

#include "core/kernels/dispatch.h"

namespace linea::kernels {
namespace {

DType acc_dtype(DType t) { return t == DType::f64 ? DType::f64 : DType::f32; }

// A fresh accumulation-dtype copy of base (never an alias: the scatter writes into it).
Tensor acc_copy(const Tensor& base) {
  Tensor acc = Tensor::empty(base.shape(), acc_dtype(base.dtype()), base.device());
  acc.copy_(base);
  return acc;
}

void check_index(const char* op, const Tensor& index, const Tensor& other) {
  LINEA_CHECK(index.dtype() == DType::i32 || index.dtype() == DType::i64, op, ": index must be i32 or i64, got ",
              index.desc());
  check_same_device(op, index, other);
}

// index has t's rank and fits inside t in every dim (except `dim` when skip_dim).
void check_fits(const char* op, const Tensor& index, const Tensor& t, int64_t dim, bool skip_dim, const char* name) {
  LINEA_CHECK(t.dim() >= 1, op, ": cannot index the 0-dim ", name, " ", t.desc());
  LINEA_CHECK(index.dim() == t.dim(), op, ": index ", index.desc(), " must have the same number of dims as ", name,
              " ", t.desc());
  for (int64_t d = 0; d < t.dim(); ++d)
    LINEA_CHECK((skip_dim && d == dim) || index.size(d) <= t.size(d), op, ": index ", index.desc(),
                " is larger than ", name, " ", t.desc(), " in dim ", d);
}

IndexPlan make_plan(const char* op, const Tensor& index, const Tensor& follow, const Tensor& indexed, int64_t dim) {
  Shape rows_shape = index.shape();
  rows_shape[dim] = 1;
  IndexPlan p;
  p.rows = make_strided_offsets<3>(rows_shape, {index.strides(), follow.strides(), indexed.strides()}, op);
  p.row_count = shape_numel(rows_shape);
  p.count = index.size(dim);
  p.step[0] = index.stride(dim);
  p.step[1] = follow.stride(dim);
  p.indexed_size = indexed.size(dim);
  p.indexed_stride = indexed.stride(dim);
  return p;
}

void throw_fault(const IndexFault& f, const char* op, int64_t dim, const Tensor& indexed) {
  LINEA_CHECK(!f.found, op, ": index ", f.value, " is out of range for dim ", dim, " of size ", indexed.size(dim),
              " (indexing ", indexed.desc(), ")");
}

}  // namespace

void gather_into(const char* op, const Tensor& out, const Tensor& x, int64_t dim, const Tensor& index,
                 IndexFault& fault) {
  check_floating(op, x);
  check_index(op, index, x);
  check_fits(op, index, x, dim, true, "x");
  LINEA_CHECK(out.shape() == index.shape() && out.dtype() == x.dtype(), op, ": output ", out.desc(),
              " does not match index ", index.desc(), " and x ", x.desc());
  if (index.numel() == 0) return;
  LINEA_CHECK(x.size(dim) > 0, op, ": cannot index the empty dim ", dim, " of ", x.desc());
  IndexPlan plan = make_plan(op, index, out, x, dim);
  LINEA_DISPATCH_DEVICE(x.device(), gather, index, out, x, plan, fault);
}

void scatter_add_into(const char* op, const Tensor& acc, int64_t dim, const Tensor& index, const Tensor& src,
                      IndexFault& fault) {
  check_floating(op, src);
  check_index(op, index, src);
  check_same_device(op, acc, src);
  LINEA_ASSERT(acc.dtype() == acc_dtype(src.dtype()) && acc.is_contiguous(), op, ": accumulator ", acc.desc());
  check_fits(op, index, src, dim, false, "src");
  check_fits(op, index, acc, dim, true, "base");
  if (index.numel() == 0) return;
  IndexPlan plan = make_plan(op, index, src, acc, dim);
  LINEA_DISPATCH_DEVICE(src.device(), scatter_add, index, src, acc, plan, fault);
}

Tensor expand_index(const Tensor& index, int64_t dim, const Shape& shape) {
  Shape strides(shape.size(), 0);
  strides[dim] = index.stride(0);
  return index.as_strided(shape, strides, index.offset());
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  dim = wrap_dim("gather", dim, x.dim());
  Tensor out = Tensor::empty(index.shape(), x.dtype(), x.device());
  IndexFault fault;
  gather_into("gather", out, x, dim, index, fault);
  throw_fault(fault, "gather", dim, x);
  return out;
}

Tensor gather_bwd(const Shape& x_shape, int64_t dim, const Tensor& index, const Tensor& dy) {
  dim = wrap_dim("gather backward", dim, int64_t(x_shape.size()));
  Tensor acc = Tensor::zeros(x_shape, acc_dtype(dy.dtype()), dy.device());
  IndexFault fault;
  scatter_add_into("gather backward", acc, dim, index, dy, fault);
  throw_fault(fault, "gather backward", dim, acc);
  return acc.to(dy.dtype());
}

Tensor scatter_add(const Tensor& base, int64_t dim, const Tensor& index, const Tensor& src) {
  dim = wrap_dim("scatter_add", dim, base.dim());
  check_same_dtype("scatter_add", base, src);
  Tensor acc = acc_copy(base);
  IndexFault fault;
  scatter_add_into("scatter_add", acc, dim, index, src, fault);
  throw_fault(fault, "scatter_add", dim, base);
  return acc.to(base.dtype());
}

namespace {
void check_index_1d(const char* op, const Tensor& index, const Shape& x_shape) {
  LINEA_CHECK(index.dim() == 1, op, ": expected a 1-D index, got ", index.desc());
  LINEA_CHECK(!x_shape.empty(), op, ": cannot index a 0-dim tensor");
}
Shape with_dim(Shape s, int64_t dim, int64_t n) {
  s[dim] = n;
  return s;
}
}  // namespace

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  dim = wrap_dim("index_select", dim, x.dim());
  check_index_1d("index_select", index, x.shape());
  Shape out_shape = with_dim(x.shape(), dim, index.numel());
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
  IndexFault fault;
  gather_into("index_select", out, x, dim, expand_index(index, dim, out_shape), fault);
  throw_fault(fault, "index_select", dim, x);
  return out;
}

Tensor index_add(const Tensor& base, int64_t dim, const Tensor& index, const Tensor& src) {
  dim = wrap_dim("index_add", dim, base.dim());
  check_index_1d("index_add", index, base.shape());
  check_same_dtype("index_add", base, src);
  LINEA_CHECK(src.shape() == with_dim(base.shape(), dim, index.numel()), "index_add: src ", src.desc(),
              " must match base ", base.desc(), " except in dim ", dim, " where it must equal the index length ",
              index.numel());
  Tensor acc = acc_copy(base);
  IndexFault fault;
  scatter_add_into("index_add", acc, dim, expand_index(index, dim, src.shape()), src, fault);
  throw_fault(fault, "index_add", dim, base);
  return acc.to(base.dtype());
}

Tensor index_select_bwd(const Shape& x_shape, int64_t dim, const Tensor& index, const Tensor& dy) {
  dim = wrap_dim("index_select backward", dim, int64_t(x_shape.size()));
  check_index_1d("index_select backward", index, x_shape);
  LINEA_CHECK(dy.shape() == with_dim(x_shape, dim, index.numel()), "index_select backward: gradient ", dy.desc(),
              " does not match x shape ", shape_str(x_shape), " with ", index.numel(), " indices in dim ", dim);
  Tensor acc = Tensor::zeros(x_shape, acc_dtype(dy.dtype()), dy.device());
  IndexFault fault;
  scatter_add_into("index_select backward", acc, dim, expand_index(index, dim, dy.shape()), dy, fault);
  throw_fault(fault, "index_select backward", dim, acc);
  return acc.to(dy.dtype());
}

}  // namespace linea::kernels
