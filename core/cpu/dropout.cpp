// CPU dropout masking (forward and backward).
#include "core/kernels/dropout.h"

namespace linea::cpu {

void dropout(const Tensor& x, const Tensor& y, const RandomParams& mask, double scale, const StridedOffsets<2>& idx) {
  const int64_t n = x.numel();
  dispatch_floating(x.dtype(), "dropout", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = acc_t<T>;
    const T* xp = static_cast<const T*>(x.data_ptr());
    T* yp = static_cast<T*>(y.data_ptr());
    const A s = A(scale);
#pragma omp parallel for if (n > (1 << 14))
    for (int64_t i = 0; i < n; ++i) {
      int64_t o[2] = {i, i};
      if (!idx.all_contiguous) idx.offsets(i, o);
      yp[o[1]] = random_value(mask, i) != 0.0f ? store_as<T, A>(load_as<A, T>(xp[o[0]]) * s) : T(0.0f);
    }
  });
}

}  // namespace linea::cpu
