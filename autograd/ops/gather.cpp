// gather, index_select and scatter_add with their hand-written backward kernels.
#include "autograd/ops/gather.h"

#include "autograd/node.h"
#include "core/kernels/gather.h"

namespace linea {

Variable gather(const Variable& x, int64_t dim, const Tensor& index) {
  Tensor y = kernels::gather(x.data(), dim, index);
  return record_op("gather", y, {x}, [s = x.shape(), dim, index](const Tensor& g, const NeedsGrad&) {
    return std::vector<Tensor>{kernels::gather_bwd(s, dim, index, g)};
  });
}

Variable index_select(const Variable& x, int64_t dim, const Tensor& index) {
  Tensor y = kernels::index_select(x.data(), dim, index);
  return record_op("index_select", y, {x}, [s = x.shape(), dim, index](const Tensor& g, const NeedsGrad&) {
    return std::vector<Tensor>{kernels::index_select_bwd(s, dim, index, g)};
  });
}

Variable scatter_add(const Variable& base, int64_t dim, const Tensor& index, const Variable& src) {
  Tensor y = kernels::scatter_add(base.data(), dim, index, src.data());
  return record_op("scatter_add", y, {base, src},
                   [dim, index, src_shape = src.shape()](const Tensor& g, const NeedsGrad& needs) {
                     if (!needs[1]) return std::vector<Tensor>{g, Tensor()};
                     Tensor dsrc = kernels::gather(g, dim, index);
                     if (dsrc.shape() != src_shape) {
                       // src may be larger than index: positions outside it get zero gradient.
                       Tensor padded = Tensor::zeros(src_shape, dsrc.dtype(), dsrc.device());
                       Tensor region = padded;
                       for (int64_t d = 0; d < index.dim(); ++d) region = region.narrow(d, 0, index.size(d));
                       region.copy_(dsrc);
                       dsrc = padded;
                     }
                     return std::vector<Tensor>{g, dsrc};
                   });
}

}  // namespace linea
