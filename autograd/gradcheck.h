// gradcheck: compares an op's analytic backward with central finite differences in f64
// on CPU. The output is projected on a fixed random vector w, so one backward checks the
// full vector-Jacobian product: analytic d(w.y)/dx against (f(x+eps) - f(x-eps)).w / 2eps.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "autograd/variable.h"

namespace linea {

struct GradcheckOptions {
  double eps = 1e-6;
  // |analytic - numeric| <= atol + rtol * |numeric|. With f64 and eps = 1e-6 the central
  // difference's truncation error is O(eps^2 * f''') and rounding O(1e-16 / eps) ~ 1e-10,
  // so 1e-6 absolute leaves room for ops with large third derivatives.
  double atol = 1e-6;
  double rtol = 1e-4;
  uint64_t seed = 7;
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0.0;
  std::string message;  // the first mismatches, with input, element, analytic, numeric
};

using GradcheckFn = std::function<Variable(const std::vector<Variable>&)>;

// inputs: CPU tensors (f64 for floating ones; may be non-contiguous views). Floating
// inputs are checked; integer inputs (indices) are passed through.
GradcheckResult gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs, GradcheckOptions opt = {});

}  // namespace linea
