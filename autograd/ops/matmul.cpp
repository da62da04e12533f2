// matmul's backward (dA = dC op(B)^T, dB = op(A)^T dC, transposes folded into the GEMM
// flags, broadcast batch dims summed back) and linear built on it.
#include "autograd/ops/matmul.h"

#include "autograd/node.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/views.h"
#include "core/kernels/matmul.h"
#include "core/kernels/reduce.h"

namespace linea {
namespace {

Shape batch_of(const Shape& s) { return Shape(s.begin(), s.end() - 2); }
Shape with_matrix(Shape batch, int64_t rows, int64_t cols) {
  batch.push_back(rows);
  batch.push_back(cols);
  return batch;
}

// The sum of op(u) op(v) [..., P, R] over the batch dims that broadcasting added to an
// input of shape `target`. u, v: [..., P, Q] and [..., Q, R] after their transposes.
Tensor product_to(const Tensor& u, bool tu, const Tensor& v, bool tv, const Shape& target) {
  const Shape batch = broadcast_shapes("matmul backward", batch_of(u.shape()), batch_of(v.shape()));
  if (shape_numel(batch_of(target)) == 1 && shape_numel(batch) > 1) {
    // A batch-shared input (e.g. a weight): one GEMM contracting over (batch, Q),
    // sum_i U_i V_i = [U_0 ... U_B] [V_0; ...; V_B], so nothing batch-sized is reduced later.
    const Tensor ou = tu ? u.transpose(-1, -2) : u;  // [..., P, Q]
    const Tensor ov = tv ? v.transpose(-1, -2) : v;  // [..., Q, R]
    const int64_t P = ou.size(-2), Q = ou.size(-1), R = ov.size(-1);
    Tensor u_stack = ou.transpose(-1, -2).expand(with_matrix(batch, Q, P)).reshape({-1, P});  // [B*Q, P]
    Tensor v_stack = ov.expand(with_matrix(batch, Q, R)).reshape({-1, R});                      // [B*Q, R]
    return kernels::matmul(u_stack, v_stack, true, false).reshape(target);
  }
  return kernels::sum_to(kernels::matmul(u, v, tu, tv), target);
}

}  // namespace

Variable matmul(const Variable& a, const Variable& b, bool trans_a, bool trans_b) {
  Tensor c = kernels::matmul(a.data(), b.data(), trans_a, trans_b);
  // dA needs only b and dB only a: keep just what a wanted gradient uses.
  Tensor saved_a = b.requires_grad() ? a.data() : Tensor();
  Tensor saved_b = a.requires_grad() ? b.data() : Tensor();
  return record_op("matmul", c, {a, b},
                   [at = saved_a, bt = saved_b, trans_a, trans_b, a_shape = a.shape(), b_shape = b.shape()](
                       const Tensor& g, const NeedsGrad& needs) {
                     Tensor ga, gb;
                     if (needs[0])  // dop(A) = dC op(B)^T; dA is its transpose when trans_a
                       ga = trans_a ? product_to(bt, trans_b, g, true, a_shape)
                                    : product_to(g, false, bt, !trans_b, a_shape);
                     if (needs[1])  // dop(B) = op(A)^T dC; dB is its transpose when trans_b
                       gb = trans_b ? product_to(g, true, at, trans_a, b_shape)
                                    : product_to(at, !trans_a, g, false, b_shape);
                     return std::vector<Tensor>{ga, gb};
                   });
}

Variable linear(const Variable& x, const Variable& weight, const Variable& bias) {
  LINEA_CHECK(weight.dim() == 2, "linear: weight must be [out, in], got ", weight.data().desc());
  LINEA_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1), "linear: input ", x.data().desc(),
              " does not end in the weight's in-features (weight ", weight.data().desc(), ")");
  LINEA_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == weight.size(0)), "linear: bias ",
              bias.defined() ? bias.data().desc() : "", " must be [", weight.size(0), "] for weight ",
              weight.data().desc());
  if (x.dim() == 1) return squeeze(linear(unsqueeze(x, 0), weight, bias), 0);
  Variable y = matmul(x, weight, false, true);
  return bias.defined() ? add(y, bias) : y;
}

}  // namespace linea
