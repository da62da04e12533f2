// CPU tril / triu: parallel over the [R, C] matrices' rows; out is contiguous.
#include "core/kernels/triangular.h"

namespace linea::cpu {

void triangular(const Tensor& x, const Tensor& out, const TriangleSpec& s, double value,
                const StridedOffsets<2>& idx) {
  const int64_t rows = out.numel() / s.cols;  // every row of every matrix
  dispatch_floating(x.dtype(), "triangular", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xp = static_cast<const T*>(x.data_ptr());
    T* op = static_cast<T*>(out.data_ptr());
    const T fill = store_as<T, double>(value);
#pragma omp parallel for if (out.numel() > (1 << 15))
    for (int64_t row = 0; row < rows; ++row) {
      const int64_t r = row % s.rows;
      for (int64_t c = 0; c < s.cols; ++c) {
        const int64_t i = row * s.cols + c;
        int64_t o[2] = {i, i};
        if (!idx.all_contiguous) idx.offsets(i, o);
        op[i] = s.keep(r, c) ? xp[o[0]] : fill;
      }
    }
  });
}

}  // namespace linea::cpu
