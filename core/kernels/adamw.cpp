#include "core/kernels/adamw.h"

#include "core/kernels/dispatch.h"

namespace linea::kernels {

void adamw_update(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                  const Tensor& master, const AdamWStep& s) {
  const char* op = "adamw_update";
  check_floating(op, param);
  check_same_dtype(op, param, grad);
  const bool half = param.dtype() == DType::bf16 || param.dtype() == DType::f16;
  const DType state_dtype = param.dtype() == DType::f64 ? DType::f64 : DType::f32;
  LINEA_CHECK(half == master.defined(), op, ": a master copy is required exactly for bf16/f16 params, got param ",
              param.desc(), (master.defined() ? " with" : " without"), " a master");
  for (const Tensor* t : {&grad, &exp_avg, &exp_avg_sq, &master}) {
    if (!t->defined()) continue;
    check_same_device(op, param, *t);
    LINEA_CHECK(t->numel() == param.numel() && t->is_contiguous(), op, ": expected a dense tensor of ",
                param.numel(), " elements, got ", t->desc());
    LINEA_CHECK(t == &grad || t->dtype() == state_dtype, op, ": state ", t->desc(), " should be ",
                dtype_name(state_dtype));
  }
  LINEA_CHECK(param.is_contiguous(), op, ": param must be dense, got ", param.desc());
  LINEA_CHECK(s.step >= 1, op, ": step is 1-based, got ", s.step);
  if (param.numel() == 0) return;
  const double bc1 = 1.0 - std::pow(s.beta1, double(s.step));
  const double bc2 = 1.0 - std::pow(s.beta2, double(s.step));
  const AdamWCoefficients c{1.0 - s.lr * s.weight_decay, s.beta1, 1.0 - s.beta1, s.beta2, 1.0 - s.beta2,
                            s.lr / bc1, std::sqrt(bc2), s.eps};
  LINEA_DISPATCH_DEVICE(param.device(), adamw_update, param, grad, exp_avg, exp_avg_sq, master, c);
}

}  // namespace linea::kernels
