#include "core/kernels/copy.h"

namespace linea::cpu {

void copy(const Tensor& dst, const Tensor& src, const StridedOffsets<2>& idx) {
  const int64_t n = dst.numel();
  dispatch_all(dst.dtype(), "copy", [&](auto dt) {
    using D = typename decltype(dt)::type;
    dispatch_all(src.dtype(), "copy", [&](auto st) {
      using S = typename decltype(st)::type;
      D* out = static_cast<D*>(dst.data_ptr());
      const S* in = static_cast<const S*>(src.data_ptr());
      if (idx.all_contiguous) {
#pragma omp parallel for simd if (n > (1 << 16))
        for (int64_t i = 0; i < n; ++i) out[i] = convert_value<D, S>(in[i]);
      } else {
#pragma omp parallel for if (n > (1 << 16))
        for (int64_t i = 0; i < n; ++i) {
          int64_t off[2];
          idx.offsets(i, off);
          out[off[0]] = convert_value<D, S>(in[off[1]]);
        }
      }
    });
  });
}

void fill(const Tensor& dst, double value, const StridedOffsets<1>& idx) {
  const int64_t n = dst.numel();
  dispatch_all(dst.dtype(), "fill", [&](auto dt) {
    using D = typename decltype(dt)::type;
    D* out = static_cast<D*>(dst.data_ptr());
    const D v = convert_value<D, double>(value);
#pragma omp parallel for if (n > (1 << 16))
    for (int64_t i = 0; i < n; ++i) {
      int64_t off[1];
      idx.offsets(i, off);
      out[off[0]] = v;
    }
  });
}

}  // namespace linea::cpu
