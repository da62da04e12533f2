// CPU cumsum: parallel over (outer, block of inner columns); each block keeps its running
// sums in the accumulation dtype and walks n, so the inner loop is contiguous.
#include <algorithm>

#include "core/kernels/cumsum.h"

namespace linea::cpu {
namespace {
constexpr int64_t kColBlock = 256;
}

void cumsum(const Tensor& x, const Tensor& y, const ScanGeometry& g) {
  const int64_t blocks = (g.inner + kColBlock - 1) / kColBlock;
  dispatch_floating(x.dtype(), "cumsum", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = acc_t<T>;
    const T* xp = static_cast<const T*>(x.data_ptr());
    T* yp = static_cast<T*>(y.data_ptr());
#pragma omp parallel for collapse(2) if (x.numel() > (1 << 15))
    for (int64_t o = 0; o < g.outer; ++o)
      for (int64_t b = 0; b < blocks; ++b) {
        const int64_t c0 = b * kColBlock, nc = std::min(kColBlock, g.inner - c0);
        A run[kColBlock] = {};
        for (int64_t s = 0; s < g.n; ++s) {
          const int64_t k = g.reverse ? g.n - 1 - s : s;
          const int64_t base = (o * g.n + k) * g.inner + c0;
          for (int64_t c = 0; c < nc; ++c) {
            run[c] += load_as<A, T>(xp[base + c]);
            yp[base + c] = store_as<T, A>(run[c]);
          }
        }
      }
  });
}

}  // namespace linea::cpu
