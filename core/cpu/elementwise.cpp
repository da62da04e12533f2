#include "core/cpu/parallel.h"
#include "core/kernels/elementwise.h"

namespace linea::cpu {
namespace {
constexpr int64_t kParallelGrain = 1 << 15;  // below this, threads cost more than they save
}

void unary_fwd(UnaryOp op, const Tensor& x, const Tensor& y, double pa, double pb, const StridedOffsets<2>& idx) {
  dispatch_floating(x.dtype(), unary_op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = acc_t<T>;
    const T* xp = static_cast<const T*>(x.data_ptr());
    T* yp = static_cast<T*>(y.data_ptr());
    dispatch_unary_op(op, [&](auto opc) {
      constexpr UnaryOp Op = decltype(opc)::value;
      parallel_for(x.numel(), kParallelGrain, [=](int64_t begin, int64_t end) {
        const T* xs = xp;
        T* ys = yp;
        const A a = A(pa), b = A(pb);
        if (idx.all_contiguous) {
#pragma omp simd
          for (int64_t i = begin; i < end; ++i) ys[i] = store_as<T, A>(math::unary_fwd<Op, A>(load_as<A, T>(xs[i]), a, b));
        } else {
          for (int64_t i = begin; i < end; ++i) {
            int64_t o[2];
            idx.offsets(i, o);
            ys[o[1]] = store_as<T, A>(math::unary_fwd<Op, A>(load_as<A, T>(xs[o[0]]), a, b));
          }
        }
      });
    });
  });
}

void unary_bwd(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& dx, double pa, double pb,
               const StridedOffsets<4>& idx) {
  dispatch_floating(x.dtype(), unary_op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = acc_t<T>;
    const T* xp = static_cast<const T*>(x.data_ptr());
    const T* yp = static_cast<const T*>(y.data_ptr());
    const T* gp = static_cast<const T*>(dy.data_ptr());
    T* dxp = static_cast<T*>(dx.data_ptr());
    dispatch_unary_op(op, [&](auto opc) {
      constexpr UnaryOp Op = decltype(opc)::value;
      parallel_for(x.numel(), kParallelGrain, [=](int64_t begin, int64_t end) {
        const T *xs = xp, *ys = yp, *gs = gp;
        T* out = dxp;
        const A a = A(pa), b = A(pb);
        if (idx.all_contiguous) {
#pragma omp simd
          for (int64_t i = begin; i < end; ++i)
            out[i] = store_as<T, A>(
                math::unary_bwd<Op, A>(load_as<A, T>(xs[i]), load_as<A, T>(ys[i]), load_as<A, T>(gs[i]), a, b));
        } else {
          for (int64_t i = begin; i < end; ++i) {
            int64_t o[4];
            idx.offsets(i, o);
            out[o[3]] = store_as<T, A>(math::unary_bwd<Op, A>(load_as<A, T>(xs[o[0]]), load_as<A, T>(ys[o[1]]),
                                                              load_as<A, T>(gs[o[2]]), a, b));
          }
        }
      });
    });
  });
}

namespace {
// Innermost dim of a broadcast binary op: y[j] = a[j * sa] op b[j * sb] for j < n.
// Strides are 0 or 1 in the common cases, which the compiler vectorizes separately.
template <BinaryOp Op, class T, class A>
inline void binary_row(const T* a, int64_t sa, const T* b, int64_t sb, T* y, int64_t n) {
  if (sa == 1 && sb == 1) {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) y[j] = store_as<T, A>(math::binary_fwd<Op, A>(load_as<A, T>(a[j]), load_as<A, T>(b[j])));
  } else if (sa == 1 && sb == 0) {
    const A bv = load_as<A, T>(b[0]);
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) y[j] = store_as<T, A>(math::binary_fwd<Op, A>(load_as<A, T>(a[j]), bv));
  } else if (sa == 0 && sb == 1) {
    const A av = load_as<A, T>(a[0]);
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) y[j] = store_as<T, A>(math::binary_fwd<Op, A>(av, load_as<A, T>(b[j])));
  } else {
    for (int64_t j = 0; j < n; ++j)
      y[j] = store_as<T, A>(math::binary_fwd<Op, A>(load_as<A, T>(a[j * sa]), load_as<A, T>(b[j * sb])));
  }
}
}  // namespace

void binary_fwd(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& y, const StridedOffsets<3>& idx) {
  dispatch_floating(a.dtype(), binary_op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = acc_t<T>;
    const T* ap = static_cast<const T*>(a.data_ptr());
    const T* bp = static_cast<const T*>(b.data_ptr());
    T* yp = static_cast<T*>(y.data_ptr());
    dispatch_binary_op(op, [&](auto opc) {
      constexpr BinaryOp Op = decltype(opc)::value;
      // y is contiguous, so its innermost merged dim has stride 1: process whole rows of
      // that dim so broadcasting costs one index computation per row, not per element.
      const int64_t inner = idx.ndim == 0 ? 1 : idx.sizes[idx.ndim - 1];
      const int64_t sa = idx.ndim == 0 ? 0 : idx.strides[0][idx.ndim - 1];
      const int64_t sb = idx.ndim == 0 ? 0 : idx.strides[1][idx.ndim - 1];
      const int64_t rows = y.numel() / inner;
      const int64_t grain = std::max<int64_t>(1, kParallelGrain / inner);
      parallel_for(rows, grain, [=](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          int64_t o[3];
          idx.offsets(r * inner, o);
          binary_row<Op, T, A>(ap + o[0], sa, bp + o[1], sb, yp + o[2], inner);
        }
      });
    });
  });
}

void binary_bwd(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& dy, const Tensor& ga, const Tensor& gb,
                const StridedOffsets<3>& idx) {
  dispatch_floating(a.dtype(), binary_op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = acc_t<T>;
    const T* ap = static_cast<const T*>(a.data_ptr());
    const T* bp = static_cast<const T*>(b.data_ptr());
    const T* gp = static_cast<const T*>(dy.data_ptr());
    A* gap = ga.defined() ? static_cast<A*>(ga.data_ptr()) : nullptr;  // f32 (f64 for f64), contiguous
    A* gbp = gb.defined() ? static_cast<A*>(gb.data_ptr()) : nullptr;
    dispatch_binary_op(op, [&](auto opc) {
      constexpr BinaryOp Op = decltype(opc)::value;
      parallel_for(dy.numel(), kParallelGrain, [=](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          int64_t o[3] = {i, i, i};
          if (!idx.all_contiguous) idx.offsets(i, o);
          A da, db;
          math::binary_bwd<Op, A>(load_as<A, T>(ap[o[0]]), load_as<A, T>(bp[o[1]]), load_as<A, T>(gp[o[2]]), da, db);
          if (gap) gap[i] = da;
          if (gbp) gbp[i] = db;
        }
      });
    });
  });
}

}  // namespace linea::cpu
