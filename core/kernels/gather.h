// Indexed reads and accumulating writes along one dim: gather, index_select, scatter_add,
// index_add (and embedding, built on them), with their backward kernels.
// Shapes: gather x [*], index [*i] (same rank, index.size(d) <= x.size(d) for d != dim) -> [*i];
// index_select x [..., n, ...], index [k] -> [..., k, ...].
#pragma once
#include "core/kernels/strided.h"
#include "core/tensor.h"

namespace linea {

// One indexed op along `dim`. `rows` walks every position of the index shape except
// along dim, for the operands (index, follow, indexed): `follow` is read or written at the
// index's own positions (gather's output, scatter_add's src), `indexed` at the position
// the index value selects (gather's x, scatter_add's accumulator). Along dim each row
// visits `count` positions with the index and follow strides in `step`.
struct IndexPlan {
  StridedOffsets<3> rows;
  int64_t row_count = 0;
  int64_t count = 0;             // index.size(dim)
  int64_t step[2] = {};          // strides along dim of index and follow
  int64_t indexed_size = 0;      // valid index values are [0, indexed_size)
  int64_t indexed_stride = 0;    // indexed's stride along dim
};

// An out-of-range index met by a kernel (one of them, when there are several).
struct IndexFault {
  bool found = false;
  int64_t value = 0;
};

}  // namespace linea

namespace linea::kernels {

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
// dx [x_shape] = zeros with dy scattered back (summed where the index repeats).
Tensor gather_bwd(const Shape& x_shape, int64_t dim, const Tensor& index, const Tensor& dy);
// base + src added at the positions index selects along dim; f32 accumulation.
Tensor scatter_add(const Tensor& base, int64_t dim, const Tensor& index, const Tensor& src);

// index: 1-D i32/i64.
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
// base with src[..., j, ...] added into base[..., index[j], ...]; f32 accumulation.
Tensor index_add(const Tensor& base, int64_t dim, const Tensor& index, const Tensor& src);
// dx [x_shape] of index_select: index_add into zeros.
Tensor index_select_bwd(const Shape& x_shape, int64_t dim, const Tensor& index, const Tensor& dy);

// Building blocks that report out-of-range indices through `fault` instead of throwing,
// so callers (embedding) can word the error. `out` and `acc` are written in place;
// acc is in the accumulation dtype (f32, f64 for f64) of src.
void gather_into(const char* op, const Tensor& out, const Tensor& x, int64_t dim, const Tensor& index,
                 IndexFault& fault);
void scatter_add_into(const char* op, const Tensor& acc, int64_t dim, const Tensor& index, const Tensor& src,
                      IndexFault& fault);
// 1-D index [k] laid along `dim` and broadcast (stride 0) to `shape` (shape[dim] == k),
// so index_select and index_add run as gather and scatter_add.
Tensor expand_index(const Tensor& index, int64_t dim, const Shape& shape);

}  // namespace linea::kernels

namespace linea::cpu {
void gather(const Tensor& index, const Tensor& out, const Tensor& x, const IndexPlan& plan, IndexFault& fault);
void scatter_add(const Tensor& index, const Tensor& src, const Tensor& acc, const IndexPlan& plan, IndexFault& fault);
}  // namespace linea::cpu
namespace linea::cuda {
void gather(const Tensor& index, const Tensor& out, const Tensor& x, const IndexPlan& plan, IndexFault& fault);
void scatter_add(const Tensor& index, const Tensor& src, const Tensor& acc, const IndexPlan& plan, IndexFault& fault);
}  // namespace linea::cuda
