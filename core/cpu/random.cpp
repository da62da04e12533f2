#include "core/kernels/random.h"

namespace linea::cpu {

void random_fill(const Tensor& out, const RandomParams& p) {
  const int64_t n = out.numel();
  dispatch_floating(out.dtype(), "random_fill", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* o = static_cast<T*>(out.data_ptr());
#pragma omp parallel for if (n > (1 << 14))
    for (int64_t i = 0; i < n; ++i) o[i] = store_as<T, acc_t<T>>(acc_t<T>(random_value(p, i)));
  });
}

}  // namespace linea::cpu
