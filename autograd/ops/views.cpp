#include "autograd/ops/views.h"

#include "autograd/node.h"
#include "core/kernels/reduce.h"

namespace linea {
namespace {
// dx = zeros(x_shape) with g written into the region `region_of(dx)` selects.
template <class Region>
Tensor scatter_into_zeros(const Shape& shape, const Tensor& g, Region region_of) {
  Tensor dx = Tensor::zeros(shape, g.dtype(), g.device());
  region_of(dx).copy_(g);
  return dx;
}
}  // namespace

Variable reshape(const Variable& x, const Shape& shape) {
  return record_op("reshape", x.data().reshape(shape), {x}, [s = x.shape()](const Tensor& g, const NeedsGrad&) {
    return std::vector<Tensor>{g.reshape(s)};
  });
}

Variable transpose(const Variable& x, int64_t d0, int64_t d1) {
  return record_op("transpose", x.data().transpose(d0, d1), {x}, [d0, d1](const Tensor& g, const NeedsGrad&) {
    return std::vector<Tensor>{g.transpose(d0, d1)};
  });
}

Variable permute(const Variable& x, const std::vector<int64_t>& dims) {
  Tensor y = x.data().permute(dims);
  std::vector<int64_t> inverse(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) inverse[wrap_dim("permute", dims[i], x.dim())] = int64_t(i);
  return record_op("permute", y, {x}, [inverse](const Tensor& g, const NeedsGrad&) {
    return std::vector<Tensor>{g.permute(inverse)};
  });
}

Variable slice(const Variable& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  Tensor y = x.data().slice(dim, start, end, step);
  return record_op("slice", y, {x}, [s = x.shape(), dim, start, end, step](const Tensor& g, const NeedsGrad&) {
    return std::vector<Tensor>{
        scatter_into_zeros(s, g, [&](const Tensor& dx) { return dx.slice(dim, start, end, step); })};
  });
}

Variable select(const Variable& x, int64_t dim, int64_t index) {
  Tensor y = x.data().select(dim, index);
  return record_op("select", y, {x}, [s = x.shape(), dim, index](const Tensor& g, const NeedsGrad&) {
    return std::vector<Tensor>{scatter_into_zeros(s, g, [&](const Tensor& dx) { return dx.select(dim, index); })};
  });
}

Variable expand(const Variable& x, const Shape& shape) {
  return record_op("expand", x.data().expand(shape), {x}, [s = x.shape()](const Tensor& g, const NeedsGrad&) {
    return std::vector<Tensor>{kernels::sum_to(g, s)};
  });
}

Variable unsqueeze(const Variable& x, int64_t dim) { return reshape(x, x.data().unsqueeze(dim).shape()); }
Variable squeeze(const Variable& x, int64_t dim) { return reshape(x, x.data().squeeze(dim).shape()); }

Variable contiguous(const Variable& x) {
  if (x.data().is_contiguous()) return x;
  return record_op("contiguous", x.data().contiguous(), {x},
                   [](const Tensor& g, const NeedsGrad&) { return std::vector<Tensor>{g}; });
}

Variable to_dtype(const Variable& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  return record_op("to_dtype", x.data().to(dtype), {x}, [from = x.dtype()](const Tensor& g, const NeedsGrad&) {
    return std::vector<Tensor>{g.to(from)};
  });
}

}  // namespace linea
