// CPU where: out = cond ? a : b over broadcast strided operands.
#include "core/kernels/where.h"

namespace linea::cpu {

void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out, const StridedOffsets<4>& idx) {
  const int64_t n = out.numel();
  dispatch_floating(a.dtype(), "where", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const uint8_t* cp = static_cast<const uint8_t*>(cond.data_ptr());
    const T* ap = static_cast<const T*>(a.data_ptr());
    const T* bp = static_cast<const T*>(b.data_ptr());
    T* op = static_cast<T*>(out.data_ptr());
#pragma omp parallel for if (n > (1 << 15))
    for (int64_t i = 0; i < n; ++i) {
      int64_t o[4];
      idx.offsets(i, o);
      op[o[3]] = cp[o[0]] ? ap[o[1]] : bp[o[2]];
    }
  });
}

}  // namespace linea::cpu
