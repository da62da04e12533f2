// kernels::matmul: validation, broadcasting and the reduction of any operand layout to
// the 3-D strided form the CPU and CUDA GEMMs take (see core/kernels/matmul.h).
#include "core/kernels/matmul.h"

#include "core/kernels/dispatch.h"

namespace linea::kernels {
namespace {

constexpr const char* kOp = "matmul";

// Whether a matrix [R, C] with strides (sr, sc) is a GEMM operand: unit stride in one
// dim and a leading dimension covering the other. Size-1 dims get canonical strides
// first (their stride is never used, but cuBLAS checks it).
bool gemm_strides(int64_t R, int64_t C, int64_t& sr, int64_t& sc) {
  if (C == 1) {
    sc = 1;
    if (R == 1) sr = 1;
  } else if (R == 1) {
    if (sc == 1) sr = C;
    else sr = 1;
  }
  return (sc == 1 && sr >= C) || (sr == 1 && sc >= R);
}

// Views `t` [..., R, C] as [Bt, R, C] for a GEMM over `batch`: Bt = 1 when every batch
// entry shares one matrix, else Bt = numel(batch) walked by a single stride. Copies only
// when the matrix has no unit stride or the batch dims cannot be walked by one stride.
Tensor gemm_operand(Tensor t, const Shape& batch) {
  const int64_t R = t.size(-2), C = t.size(-1);
  int64_t sr = t.stride(-2), sc = t.stride(-1);
  if (!gemm_strides(R, C, sr, sc)) {
    t = t.contiguous();
    sr = t.stride(-2);
    sc = t.stride(-1);
    gemm_strides(R, C, sr, sc);
  }
  Shape full = batch;
  full.push_back(R);
  full.push_back(C);
  Tensor e = t.expand(full);
  // Batch dims of size > 1, innermost first: shared when all strides are 0, one stride
  // when each dim's stride is the next inner one's stride times its size.
  bool shared = true, single = true, first = true;
  int64_t step = 0, next = 0;  // innermost batch stride; the stride the next outer dim needs
  for (int64_t d = int64_t(batch.size()) - 1; d >= 0; --d) {
    if (batch[d] == 1) continue;
    const int64_t s = e.stride(d);
    if (s != 0) shared = false;
    if (first) step = s;
    else if (s != next) single = false;
    first = false;
    next = s * batch[d];
  }
  if (shared) return e.as_strided({1, R, C}, {R * C, sr, sc}, e.offset());
  const int64_t count = shape_numel(batch);
  if (single && step != 0) return e.as_strided({count, R, C}, {step, sr, sc}, e.offset());
  // A batch layout no single stride walks (e.g. [2, 1] broadcast against [1, 3]).
  return e.contiguous().as_strided({count, R, C}, {R * C, C, 1}, 0);
}

Shape batch_of(const Tensor& t) { return Shape(t.shape().begin(), t.shape().end() - 2); }

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b) {
  check_same_device(kOp, a, b);
  check_same_dtype(kOp, a, b);
  check_floating(kOp, a);
  LINEA_CHECK(a.dim() >= 2 && b.dim() >= 2, kOp, ": both operands need at least 2 dims, got a ", a.desc(), " and b ",
              b.desc());
  // Op views: oa [..., M, K], ob [..., K, N].
  const Tensor oa = trans_a ? a.transpose(-1, -2) : a;
  const Tensor ob = trans_b ? b.transpose(-1, -2) : b;
  const int64_t M = oa.size(-2), K = oa.size(-1), N = ob.size(-1);
  LINEA_CHECK(ob.size(-2) == K, kOp, ": inner dims differ: a ", a.desc(), trans_a ? " (transposed)" : "", " has K=", K,
              ", b ", b.desc(), trans_b ? " (transposed)" : "", " has K=", ob.size(-2));
  Shape batch;
  try {
    batch = broadcast_shapes(kOp, batch_of(a), batch_of(b));
  } catch (const ShapeError&) {
    throw ShapeError(str_cat(kOp, ": batch dims of a ", a.desc(), " and b ", b.desc(), " do not broadcast"));
  }
  Shape out_shape = batch;
  out_shape.push_back(M);
  out_shape.push_back(N);
  Tensor c = Tensor::empty(out_shape, a.dtype(), a.device());
  if (c.numel() == 0) return c;
  if (K == 0) {
    c.zero_();
    return c;
  }
  const int64_t B = shape_numel(batch);
  Tensor a3 = gemm_operand(oa, batch), b3 = gemm_operand(ob, batch);
  Tensor c3 = c.view({B, M, N});
  // b shared and a's rows evenly spaced across the batch: one [B*M, K] x [K, N] GEMM.
  if (B > 1 && b3.size(0) == 1 && a3.stride(2) == 1 && a3.stride(0) == M * a3.stride(1)) {
    a3 = a3.as_strided({1, B * M, K}, {B * M * a3.stride(1), a3.stride(1), 1}, a3.offset());
    c3 = c.view({1, B * M, N});
  }
  LINEA_DISPATCH_DEVICE(a.device(), matmul, a3, b3, c3);
  return c;
}

}  // namespace linea::kernels
