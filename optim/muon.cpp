#include <algorithm>
#include <cmath>

#include "core/kernels/adamw.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/matmul.h"
#include "optim/optimizer.h"

namespace linea {
namespace {

Tensor scaled(const Tensor& x, double a) { return kernels::unary_fwd(UnaryOp::affine, x, a, 0.0); }
Tensor add(const Tensor& a, const Tensor& b) { return kernels::binary_fwd(BinaryOp::add, a, b); }

double frobenius(const Tensor& x) {
  const Tensor sq = kernels::binary_fwd(BinaryOp::mul, x, x);
  double total = 0;
  for (double v : sq.to(Device::cpu(), DType::f64).to_vector()) total += v;
  return std::sqrt(total);
}

}  // namespace

Tensor newton_schulz(const Tensor& g, int64_t steps) {
  LINEA_CHECK(g.dim() == 2, "newton_schulz: expected a matrix, got ", g.desc());
  constexpr double a = 3.4445, b = -4.7750, c = 2.0315;
  const bool tall = g.size(0) > g.size(1);
  Tensor x = scaled(tall ? g.transpose(0, 1).contiguous() : g.contiguous(), 1.0 / (frobenius(g) + 1e-7));
  for (int64_t i = 0; i < steps; ++i) {
    const Tensor A = kernels::matmul(x, x, false, true);
    const Tensor B = add(scaled(A, b), scaled(kernels::matmul(A, A), c));
    x = add(scaled(x, a), kernels::matmul(B, x));
  }
  return tall ? x.transpose(0, 1).contiguous() : x;
}

Muon::Muon(std::vector<ParamGroup> groups, MuonOptions options)
    : Optimizer(std::move(groups), Sharding::none, std::nullopt), options_(std::move(options)) {
  LINEA_CHECK_T(Error, options_.momentum >= 0 && options_.momentum < 1, "Muon: momentum must lie in [0, 1), got ",
                options_.momentum);
  LINEA_CHECK_T(Error, options_.ns_steps >= 1, "Muon: ns_steps must be >= 1, got ", options_.ns_steps);
  auto muon = [this](const std::string& name, const Variable& p) { return takes(name, p); };
  add_state("momentum_buffer", muon);
  add_state("exp_avg", [muon](const std::string& name, const Variable& p) { return !muon(name, p); });
  add_state("exp_avg_sq", [muon](const std::string& name, const Variable& p) { return !muon(name, p); });
}

bool Muon::takes(const std::string& name, const Variable& param) const {
  if (param.dim() != 2) return false;
  return std::none_of(options_.adamw_params.begin(), options_.adamw_params.end(),
                      [&](const std::string& pattern) { return name.find(pattern) != std::string::npos; });
}

void Muon::update(Slot& slot, const Tensor& grad, double lr, int64_t step) {
  auto master = slot.state.find("master");
  if (!takes(slot.name, slot.param)) {
    const AdamWOptions& o = options_.adamw;
    kernels::adamw_update(slot.value(), grad, slot.state.at("exp_avg"), slot.state.at("exp_avg_sq"),
                          master != slot.state.end() ? master->second : Tensor(),
                          AdamWStep{lr, o.beta1, o.beta2, o.eps, slot.weight_decay, step});
    return;
  }
  Tensor w = slot.weights();
  const Tensor g = grad.to(w.dtype());
  Tensor& buf = slot.state.at("momentum_buffer");
  buf.copy_(add(scaled(buf, options_.momentum), g));
  const Tensor u = options_.nesterov ? add(g, scaled(buf, options_.momentum)) : buf;
  const double rms_match = 0.2 * std::sqrt(double(std::max(w.size(0), w.size(1))));
  const Tensor update = scaled(newton_schulz(u, options_.ns_steps), rms_match);
  w.copy_(add(scaled(w, 1.0 - lr * slot.weight_decay), scaled(update, -lr)));
  Tensor value = slot.value();
  if (!w.shares_storage(value)) value.copy_(w);
}

}  // namespace linea
