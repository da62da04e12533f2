#include "core/kernels/elementwise.h"

namespace linea::cpu {
namespace {
constexpr int64_t kParallelGrain = 1 << 15;  // below this, threads cost more than they save
}

void unary_fwd(UnaryOp op, const Tensor& x, const Tensor& y, double pa, double pb, const StridedOffsets<2>& idx) {
  const int64_t n = x.numel();
  dispatch_floating(x.dtype(), unary_op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = acc_t<T>;
    const T* xp = static_cast<const T*>(x.data_ptr());
    T* yp = static_cast<T*>(y.data_ptr());
    const A a = A(pa), b = A(pb);
    dispatch_unary_op(op, [&](auto opc) {
      constexpr UnaryOp Op = decltype(opc)::value;
      if (idx.all_contiguous) {
#pragma omp parallel for simd if (n > kParallelGrain)
        for (int64_t i = 0; i < n; ++i)
          yp[i] = store_as<T, A>(math::unary_fwd<Op, A>(load_as<A, T>(xp[i]), a, b));
      } else {
#pragma omp parallel for if (n > kParallelGrain)
        for (int64_t i = 0; i < n; ++i) {
          int64_t o[2];
          idx.offsets(i, o);
          yp[o[1]] = store_as<T, A>(math::unary_fwd<Op, A>(load_as<A, T>(xp[o[0]]), a, b));
        }
      }
    });
  });
}

void unary_bwd(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& dx, double pa, double pb,
               const StridedOffsets<4>& idx) {
  const int64_t n = x.numel();
  dispatch_floating(x.dtype(), unary_op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = acc_t<T>;
    const T* xp = static_cast<const T*>(x.data_ptr());
    const T* yp = static_cast<const T*>(y.data_ptr());
    const T* gp = static_cast<const T*>(dy.data_ptr());
    T* dxp = static_cast<T*>(dx.data_ptr());
    const A a = A(pa), b = A(pb);
    dispatch_unary_op(op, [&](auto opc) {
      constexpr UnaryOp Op = decltype(opc)::value;
      if (idx.all_contiguous) {
#pragma omp parallel for simd if (n > kParallelGrain)
        for (int64_t i = 0; i < n; ++i)
          dxp[i] = store_as<T, A>(
              math::unary_bwd<Op, A>(load_as<A, T>(xp[i]), load_as<A, T>(yp[i]), load_as<A, T>(gp[i]), a, b));
      } else {
#pragma omp parallel for if (n > kParallelGrain)
        for (int64_t i = 0; i < n; ++i) {
          int64_t o[4];
          idx.offsets(i, o);
          dxp[o[3]] = store_as<T, A>(math::unary_bwd<Op, A>(load_as<A, T>(xp[o[0]]), load_as<A, T>(yp[o[1]]),
                                                            load_as<A, T>(gp[o[2]]), a, b));
        }
      }
    });
  });
}

void binary_fwd(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& y, const StridedOffsets<3>& idx) {
  const int64_t n = y.numel();
  dispatch_floating(a.dtype(), binary_op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = acc_t<T>;
    const T* ap = static_cast<const T*>(a.data_ptr());
    const T* bp = static_cast<const T*>(b.data_ptr());
    T* yp = static_cast<T*>(y.data_ptr());
    dispatch_binary_op(op, [&](auto opc) {
      constexpr BinaryOp Op = decltype(opc)::value;
      if (idx.all_contiguous) {
#pragma omp parallel for simd if (n > kParallelGrain)
        for (int64_t i = 0; i < n; ++i)
          yp[i] = store_as<T, A>(math::binary_fwd<Op, A>(load_as<A, T>(ap[i]), load_as<A, T>(bp[i])));
      } else {
#pragma omp parallel for if (n > kParallelGrain)
        for (int64_t i = 0; i < n; ++i) {
          int64_t o[3];
          idx.offsets(i, o);
          yp[o[2]] = store_as<T, A>(math::binary_fwd<Op, A>(load_as<A, T>(ap[o[0]]), load_as<A, T>(bp[o[1]])));
        }
      }
    });
  });
}

void binary_bwd(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& dy, const Tensor& ga, const Tensor& gb,
                const StridedOffsets<3>& idx) {
  const int64_t n = dy.numel();
  dispatch_floating(a.dtype(), binary_op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = acc_t<T>;
    const T* ap = static_cast<const T*>(a.data_ptr());
    const T* bp = static_cast<const T*>(b.data_ptr());
    const T* gp = static_cast<const T*>(dy.data_ptr());
    A* gap = ga.defined() ? static_cast<A*>(ga.data_ptr()) : nullptr;  // f32 (f64 for f64)
    A* gbp = gb.defined() ? static_cast<A*>(gb.data_ptr()) : nullptr;
    dispatch_binary_op(op, [&](auto opc) {
      constexpr BinaryOp Op = decltype(opc)::value;
#pragma omp parallel for if (n > kParallelGrain)
      for (int64_t i = 0; i < n; ++i) {
        int64_t o[3];
        idx.offsets(i, o);
        A da, db;
        math::binary_bwd<Op, A>(load_as<A, T>(ap[o[0]]), load_as<A, T>(bp[o[1]]), load_as<A, T>(gp[o[2]]), da, db);
        if (gap) gap[i] = da;  // ga, gb are contiguous at dy's shape
        if (gbp) gbp[i] = db;
      }
    });
  });
}

}  // namespace linea::cpu
