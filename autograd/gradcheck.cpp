#include "autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "core/rng.h"

namespace linea {
namespace {

double project(const Tensor& y, const std::vector<double>& w) {
  std::vector<double> v = y.to_vector();
  double s = 0.0;
  for (size_t i = 0; i < v.size(); ++i) s += v[i] * w[i];
  return s;
}

// Row-major multi-index of the i-th element of `shape`.
std::vector<int64_t> unravel(int64_t i, const Shape& shape) {
  std::vector<int64_t> idx(shape.size());
  for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {
    idx[d] = i % shape[d];
    i /= shape[d];
  }
  return idx;
}

}  // namespace

GradcheckResult gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs, GradcheckOptions opt) {
  std::vector<Variable> vars;
  for (const Tensor& t : inputs) {
    LINEA_CHECK(t.device().is_cpu(), "gradcheck: inputs must be on the CPU, got ", t.desc());
    LINEA_CHECK(!is_floating(t.dtype()) || t.dtype() == DType::f64, "gradcheck: floating inputs must be f64, got ",
                t.desc());
    vars.emplace_back(t, is_floating(t.dtype()));
  }
  Variable y = fn(vars);
  Generator gen(opt.seed);
  Tensor w = rand_normal(y.shape(), gen, DType::f64);
  std::vector<double> wv = w.to_vector();
  y.backward(w);

  GradcheckResult r;
  std::ostringstream msg;
  int reported = 0;
  for (size_t k = 0; k < vars.size(); ++k) {
    if (!is_floating(inputs[k].dtype())) continue;
    Tensor x = inputs[k];  // shares storage with vars[k]: perturbations are seen by fn
    Tensor analytic = vars[k].grad();
    for (int64_t i = 0; i < x.numel(); ++i) {
      std::vector<int64_t> idx = unravel(i, x.shape());
      const double orig = x.at(idx);
      double fp, fm;
      {
        NoGradGuard ng;
        x.set(idx, orig + opt.eps);
        fp = project(fn(vars).data(), wv);
        x.set(idx, orig - opt.eps);
        fm = project(fn(vars).data(), wv);
        x.set(idx, orig);
      }
      const double numeric = (fp - fm) / (2 * opt.eps);
      const double a = analytic.defined() ? analytic.at(idx) : 0.0;
      const double err = std::abs(a - numeric);
      r.max_abs_error = std::max(r.max_abs_error, err);
      if (!(err <= opt.atol + opt.rtol * std::abs(numeric))) {
        r.ok = false;
        if (reported++ < 5)
          msg << "input " << k << " element " << shape_str(Shape(idx.begin(), idx.end())) << ": analytic " << a
              << ", numeric " << numeric << "\n";
      }
    }
  }
  r.message = msg.str();
  return r;
}

}  // namespace linea
