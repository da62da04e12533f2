// CPU GEMM for kernels::matmul: Eigen on strided maps (no copies), f32/f64 native,
// bf16/f16 through f32 with one rounding of the result.
#include <omp.h>

// GCC 12 reports false -Wmaybe-uninitialized inside its own AVX-512 intrinsics when
// Eigen's GEMM kernels are inlined here; the diagnostic must stay off for the whole file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Core>

#include "core/kernels/copy.h"
#include "core/kernels/matmul.h"

namespace linea::cpu {
namespace {

// Below this many multiply-adds per GEMM, threads inside one GEMM cost more than they
// save, so a batch runs one GEMM per thread instead.
constexpr int64_t kSmallGemm = int64_t(1) << 21;

template <class T, int Order>
using ConstMap = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Order>, Eigen::Unaligned,
                            Eigen::OuterStride<>>;
template <class T>
using OutMap = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

// Row-major (unit last stride) or column-major (unit second-to-last stride) storage and
// its leading dimension, for x [Bx, R, C].
bool row_major(const Tensor& x) { return x.stride(2) == 1; }
int64_t leading_dim(const Tensor& x) { return row_major(x) ? x.stride(1) : x.stride(2); }
int64_t batch_stride(const Tensor& x) { return x.size(0) == 1 ? 0 : x.stride(0); }

// c[i] = a[i] b[i] for i < B: a [Ba, M, K], b [Bb, K, N], c [B, M, N].
template <class T, int OrderA, int OrderB>
void gemm(const Tensor& a, const Tensor& b, const Tensor& c) {
  const int64_t B = c.size(0), M = c.size(1), N = c.size(2), K = a.size(2);
  const T* ap = static_cast<const T*>(a.data_ptr());
  const T* bp = static_cast<const T*>(b.data_ptr());
  T* cp = static_cast<T*>(c.data_ptr());
  const int64_t sa = batch_stride(a), sb = batch_stride(b), lda = leading_dim(a), ldb = leading_dim(b);
  auto one = [&](int64_t i) {
    ConstMap<T, OrderA> A(ap + i * sa, M, K, Eigen::OuterStride<>(lda));
    ConstMap<T, OrderB> Bm(bp + i * sb, K, N, Eigen::OuterStride<>(ldb));
    OutMap<T> C(cp + i * M * N, M, N);
    C.noalias() = A * Bm;
  };
  // Eigen threads a GEMM itself (OpenMP) unless called inside a parallel region, where it
  // runs single-threaded: so either the batch or each GEMM is split across the threads.
  const int threads = omp_get_max_threads();
  const bool over_batch = B > 1 && (M * N * K <= kSmallGemm || B % threads == 0 || B >= 4 * threads);
  if (over_batch) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < B; ++i) one(i);
  } else {
    for (int64_t i = 0; i < B; ++i) one(i);
  }
}

template <class T>
void gemm_layouts(const Tensor& a, const Tensor& b, const Tensor& c) {
  constexpr int R = Eigen::RowMajor, C = Eigen::ColMajor;
  const bool ra = row_major(a), rb = row_major(b);
  if (ra && rb) gemm<T, R, R>(a, b, c);
  else if (ra) gemm<T, R, C>(a, b, c);
  else if (rb) gemm<T, C, R>(a, b, c);
  else gemm<T, C, C>(a, b, c);
}

}  // namespace

void matmul(const Tensor& a, const Tensor& b, const Tensor& c) {
  dispatch_floating(a.dtype(), "matmul", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (is_half_v<T>) {
      // fp32 GEMM on converted (contiguous) copies; the result is rounded once.
      Tensor c32 = Tensor::empty(c.shape(), DType::f32);
      gemm_layouts<float>(a.to(DType::f32), b.to(DType::f32), c32);
      kernels::copy(c, c32);
    } else {
      gemm_layouts<T>(a, b, c);
    }
  });
}

}  // namespace linea::cpu
