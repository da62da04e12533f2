#include "core/kernels/copy.h"

#include "core/kernels/dispatch.h"

namespace linea {

Shape broadcast_strides(const Tensor& t, const Shape& shape) {
  Shape s(shape.size(), 0);
  int64_t off = int64_t(shape.size()) - t.dim();
  for (int64_t d = 0; d < t.dim(); ++d)
    s[off + d] = t.size(d) == 1 ? 0 : t.stride(d);
  return s;
}

namespace kernels {

void copy(const Tensor& dst, const Tensor& src) {
  check_same_device("copy", dst, src);
  LINEA_CHECK(broadcast_shapes("copy", dst.shape(), src.shape()) == dst.shape(), "copy: source ", src.desc(),
              " cannot be broadcast to destination ", dst.desc());
  if (dst.numel() == 0) return;
  auto idx = make_strided_offsets<2>(dst.shape(), {dst.strides(), broadcast_strides(src, dst.shape())}, "copy");
  LINEA_DISPATCH_DEVICE(dst.device(), copy, dst, src, idx);
}

void fill(const Tensor& dst, double value) {
  if (dst.numel() == 0) return;
  auto idx = make_strided_offsets<1>(dst.shape(), {dst.strides()}, "fill");
  LINEA_DISPATCH_DEVICE(dst.device(), fill, dst, value, idx);
}

}  // namespace kernels
}  // namespace linea
