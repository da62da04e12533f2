// Fused AdamW update (torch.optim.AdamW: decoupled weight decay, bias correction) over one
// flat parameter, in place. Shapes: param, grad, exp_avg, exp_avg_sq, master [N].
#pragma once
#include <cmath>

#include "core/half.h"
#include "core/tensor.h"

namespace linea {

// Hyperparameters of one update; step is 1-based (the first update has step 1).
struct AdamWStep {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  int64_t step = 1;
};

// Per-step scalars computed once on the host (in double) from an AdamWStep.
struct AdamWCoefficients {
  double decay;           // 1 - lr * weight_decay
  double beta1, one_minus_beta1;
  double beta2, one_minus_beta2;
  double step_size;       // lr / (1 - beta1^step)
  double bias_correction2_sqrt;  // sqrt(1 - beta2^step)
  double eps;
};

namespace math {
// One element in the accumulation type A: updates the moments m, v and returns the new weight.
template <class A>
LINEA_HD A adamw_element(A w, A g, A& m, A& v, A decay, A beta1, A one_minus_beta1, A beta2, A one_minus_beta2,
                         A step_size, A bias_correction2_sqrt, A eps) {
  m = beta1 * m + one_minus_beta1 * g;
  v = beta2 * v + one_minus_beta2 * g * g;
  return w * decay - step_size * m / (std::sqrt(v) / bias_correction2_sqrt + eps);
}
}  // namespace math

}  // namespace linea

namespace linea::kernels {

// param and grad share a floating dtype T; exp_avg and exp_avg_sq are f32 (f64 when T is
// f64). For bf16/f16 params `master` is the f32 copy that is updated, and param receives
// it rounded; for f32/f64 params master must be undefined. All dense, on one device.
void adamw_update(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                  const Tensor& master, const AdamWStep& s);

}  // namespace linea::kernels

namespace linea::cpu {
void adamw_update(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                  const Tensor& master, const AdamWCoefficients& c);
}  // namespace linea::cpu
namespace linea::cuda {
void adamw_update(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                  const Tensor& master, const AdamWCoefficients& c);
}  // namespace linea::cuda
