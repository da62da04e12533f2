// CUDA fused cross-entropy forward and backward: one block per row (max and sum-exp block
// reductions), a one-block kernel for the mean, one fused pass per row backward.
#include <cmath>

#include "core/cuda/rowwise.cuh"
#include "core/kernels/cross_entropy.h"

namespace linea::cuda {
namespace {

// logits: [N, V]; targets, lse, row_loss, row_valid: [N]. An out-of-range target (not
// ignore_index) cannot be reported from here: its row gets lse = loss = NaN instead.
template <class T, class I>
__global__ void ce_fwd_kernel(const T* logits, const I* targets, int64_t ignore_index, acc_t<T>* lse,
                              acc_t<T>* row_loss, acc_t<T>* row_valid, int64_t N, int64_t V) {
  using A = acc_t<T>;
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const int64_t t = int64_t(targets[n]);  // the same for the whole block, so the early exit is uniform
    if (t == ignore_index) {
      if (threadIdx.x == 0) lse[n] = row_loss[n] = row_valid[n] = A(0);
      continue;
    }
    const T* xr = logits + n * V;
    A m, s;
    block_row_max_sumexp<T, A>(xr, V, m, s);
    if (threadIdx.x == 0) {
      const bool ok = t >= 0 && t < V;
      const A log_sum = std::log(s);
      lse[n] = ok ? m + log_sum : A(NAN);
      row_loss[n] = ok ? (m - load_as<A, T>(xr[t])) + log_sum : A(NAN);  // not lse - x[t]: exact for logits ~1e3
      row_valid[n] = A(1);
    }
  }
}

// One block: loss = sum(row_loss) / max(count, 1), count = sum(row_valid) (exact in f32
// up to 2^24 rows).
template <class T>
__global__ void ce_mean_kernel(const acc_t<T>* row_loss, const acc_t<T>* row_valid, int64_t N, T* loss,
                               acc_t<T>* count) {
  using A = acc_t<T>;
  A s = 0, k = 0;
  for (int64_t n = threadIdx.x; n < N; n += blockDim.x) {
    s += row_loss[n];
    k += row_valid[n];
  }
  s = block_reduce<A>(s, SumOp(), A(0));
  k = block_reduce<A>(k, SumOp(), A(0));
  if (threadIdx.x == 0) {
    *loss = store_as<T, A>(s / (k > A(1) ? k : A(1)));
    *count = k;
  }
}

// dlogits[n] = (exp(logits[n] - lse[n]) - onehot(t)) * dloss / max(count, 1), 0 if ignored.
template <class T, class I>
__global__ void ce_bwd_kernel(const T* dloss, const T* logits, const I* targets, const acc_t<T>* lse,
                              const acc_t<T>* count, int64_t ignore_index, T* dlogits, int64_t N, int64_t V) {
  using A = acc_t<T>;
  const A k = *count;
  const A scale = load_as<A, T>(*dloss) / (k > A(1) ? k : A(1));
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const int64_t t = int64_t(targets[n]);
    const T* xr = logits + n * V;
    T* dr = dlogits + n * V;
    const A l = lse[n];
    for (int64_t c = threadIdx.x; c < V; c += blockDim.x) {
      const A g = t == ignore_index ? A(0) : (std::exp(load_as<A, T>(xr[c]) - l) - (c == t ? A(1) : A(0))) * scale;
      dr[c] = store_as<T, A>(g);
    }
  }
}

}  // namespace

void cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index, const Tensor& lse,
                   const Tensor& count, const Tensor& loss, int64_t N, int64_t V) {
  dispatch_logits_targets(logits, targets, "cross_entropy", [&](auto ttag, auto itag) {
    using T = typename decltype(ttag)::type;
    using I = typename decltype(itag)::type;
    using A = acc_t<T>;
    Tensor rows = Tensor::empty({2, N}, lse.dtype(), lse.device());  // per-row loss, per-row 0/1 valid
    A* row_loss = static_cast<A*>(rows.data_ptr());
    ce_fwd_kernel<T, I><<<row_grid(N), row_block(V), 0, stream()>>>(
        static_cast<const T*>(logits.data_ptr()), static_cast<const I*>(targets.data_ptr()), ignore_index,
        static_cast<A*>(lse.data_ptr()), row_loss, row_loss + N, N, V);
    LINEA_CUDA_LAUNCH_CHECK();
    ce_mean_kernel<T><<<1, 1024, 0, stream()>>>(row_loss, row_loss + N, N, static_cast<T*>(loss.data_ptr()),
                                                static_cast<A*>(count.data_ptr()));
    LINEA_CUDA_LAUNCH_CHECK();
  });
}

void cross_entropy_bwd(const Tensor& dloss, const Tensor& logits, const Tensor& targets, const Tensor& lse,
                       const Tensor& count, int64_t ignore_index, const Tensor& dlogits, int64_t N, int64_t V) {
  dispatch_logits_targets(logits, targets, "cross_entropy backward", [&](auto ttag, auto itag) {
    using T = typename decltype(ttag)::type;
    using I = typename decltype(itag)::type;
    using A = acc_t<T>;
    ce_bwd_kernel<T, I><<<row_grid(N), row_block(V), 0, stream()>>>(
        static_cast<const T*>(dloss.data_ptr()), static_cast<const T*>(logits.data_ptr()),
        static_cast<const I*>(targets.data_ptr()), static_cast<const A*>(lse.data_ptr()),
        static_cast<const A*>(count.data_ptr()), ignore_index, static_cast<T*>(dlogits.data_ptr()), N, V);
    LINEA_CUDA_LAUNCH_CHECK();
  });
}

}  // namespace linea::cuda
