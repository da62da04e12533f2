#include <omp.h>

#include <limits>
#include <vector>

#include "core/kernels/reduce.h"

namespace linea::cpu {
namespace {

// Offset of reduced element r relative to the output's base offset.
inline int64_t inner_offset(const ReducePlan& p, int64_t r) {
  if (p.inner.ndim == 0) return 0;
  if (p.inner.ndim == 1) return r * p.inner.strides[0][0];
  int64_t o[1];
  p.inner.offsets(r, o);
  return o[0];
}

// Accumulates x[base + inner(r)] for r in [r0, r1): sum into acc, or max into acc/arg.
template <class T, class A>
void accumulate(const T* x, int64_t base, const ReducePlan& p, ReduceOp op, int64_t r0, int64_t r1, A& acc,
                int64_t& arg) {
  const bool unit = p.inner.ndim == 1 && p.inner.strides[0][0] == 1;
  if (op == ReduceOp::max) {
    for (int64_t r = r0; r < r1; ++r) {
      A v = load_as<A, T>(x[base + (unit ? r : inner_offset(p, r))]);
      if (v > acc || (v != v && acc == acc)) {  // NaN propagates, like torch.max
        acc = v;
        arg = r;
      }
    }
  } else if (unit) {
    A s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t r = r0; r < r1; ++r) s += load_as<A, T>(x[base + r]);
    acc += s;
  } else {
    for (int64_t r = r0; r < r1; ++r) acc += load_as<A, T>(x[base + inner_offset(p, r)]);
  }
}

}  // namespace

void reduce(ReduceOp op, const Tensor& x, const Tensor& y, const Tensor& argmax, const ReducePlan& p) {
  dispatch_floating(x.dtype(), reduce_op_name(op), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = acc_t<T>;
    const T* xp = static_cast<const T*>(x.data_ptr());
    T* yp = static_cast<T*>(y.data_ptr());
    int64_t* ap = argmax.defined() ? static_cast<int64_t*>(argmax.data_ptr()) : nullptr;
    const A init = op == ReduceOp::max ? -std::numeric_limits<A>::infinity() : A(0);
    const A scale = op == ReduceOp::mean ? A(1) / A(p.reduce_count) : A(1);
    const int64_t C = p.out_count, R = p.reduce_count;
    const int threads = omp_get_max_threads();

    if (p.columns) {
      // y[c] = op_r x[r * C + c]: walk rows in order so every load is sequential.
      std::vector<A> acc(C, init);
      std::vector<int64_t> arg(C, 0);
#pragma omp parallel for if (C * R > (1 << 15))
      for (int64_t c0 = 0; c0 < C; c0 += 256) {
        const int64_t c1 = std::min(C, c0 + 256);
        for (int64_t r = 0; r < R; ++r) {
          const T* row = xp + r * C;
          if (op == ReduceOp::max) {
            for (int64_t c = c0; c < c1; ++c) {
              A v = load_as<A, T>(row[c]);
              if (v > acc[c] || (v != v && acc[c] == acc[c])) { acc[c] = v; arg[c] = r; }
            }
          } else {
#pragma omp simd
            for (int64_t c = c0; c < c1; ++c) acc[c] += load_as<A, T>(row[c]);
          }
        }
      }
      for (int64_t c = 0; c < C; ++c) {
        yp[c] = store_as<T, A>(acc[c] * scale);
        if (ap) ap[c] = arg[c];
      }
    } else if (C >= threads || R < (1 << 14)) {
#pragma omp parallel for if (C * R > (1 << 15))
      for (int64_t o = 0; o < C; ++o) {
        int64_t base[1];
        p.outer.offsets(o, base);
        A acc = init;
        int64_t arg = 0;
        accumulate<T, A>(xp, base[0], p, op, 0, R, acc, arg);
        yp[o] = store_as<T, A>(acc * scale);
        if (ap) ap[o] = arg;
      }
    } else {
      // Few outputs, long reductions: split each reduction into per-thread chunks and
      // combine the partials in thread order (same result for a fixed thread count).
      for (int64_t o = 0; o < C; ++o) {
        int64_t base[1];
        p.outer.offsets(o, base);
        std::vector<A> part(threads, init);
        std::vector<int64_t> part_arg(threads, 0);
#pragma omp parallel num_threads(threads)
        {
          const int t = omp_get_thread_num();
          const int64_t chunk = (R + threads - 1) / threads;
          const int64_t r0 = std::min(R, t * chunk), r1 = std::min(R, r0 + chunk);
          accumulate<T, A>(xp, base[0], p, op, r0, r1, part[t], part_arg[t]);
        }
        A acc = init;
        int64_t arg = 0;
        for (int t = 0; t < threads; ++t) {
          if (op == ReduceOp::max) {
            if (part[t] > acc || (part[t] != part[t] && acc == acc)) { acc = part[t]; arg = part_arg[t]; }
          } else {
            acc += part[t];
          }
        }
        yp[o] = store_as<T, A>(acc * scale);
        if (ap) ap[o] = arg;
      }
    }
  });
}

void max_bwd(const Tensor& dy, const Tensor& argmax, const Tensor& dx, const ReducePlan& p) {
  dispatch_floating(dx.dtype(), "max backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* g = static_cast<const T*>(dy.data_ptr());
    const int64_t* arg = static_cast<const int64_t*>(argmax.data_ptr());
    T* out = static_cast<T*>(dx.data_ptr());
#pragma omp parallel for if (p.out_count > (1 << 14))
    for (int64_t o = 0; o < p.out_count; ++o) {
      int64_t base[1];
      p.outer.offsets(o, base);
      out[base[0] + inner_offset(p, arg[o])] = g[o];
    }
  });
}

}  // namespace linea::cpu
