// Moe: routing on the host (top-k by biased score, a counting sort by expert), then gathers,
// one SwiGLU per expert on its contiguous rows, and a scatter-add back.
#include "layers/moe.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "autograd/ops/concat.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/gather.h"
#include "autograd/ops/matmul.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/views.h"
#include "core/dist/communicator.h"

namespace linea {
namespace {

// Which experts each token goes to, and the assignments sorted by expert.
struct Routing {
  Tensor chosen;      // i64 [N, k]: expert of each (token, slot)
  Tensor assignment;  // i64 [N k]: token * k + slot, grouped by expert, tokens ascending within one
  Tensor token;       // i64 [N k]: the token of each sorted assignment
  std::vector<int64_t> offset;  // [E + 1]: expert e's assignments are [offset[e], offset[e + 1])
};

// Top k of score + bias per token (ties to the lower expert index), then a stable counting sort.
Routing route(const Tensor& scores, const Tensor& bias, int64_t k) {
  const int64_t N = scores.size(0), E = scores.size(1);
  const std::vector<double> s = scores.to(Device::cpu(), DType::f64).to_vector();
  const std::vector<double> b = bias.to(Device::cpu(), DType::f64).to_vector();
  std::vector<double> chosen(static_cast<size_t>(N * k));
  std::vector<int64_t> count(static_cast<size_t>(E), 0), order(static_cast<size_t>(E));
  for (int64_t t = 0; t < N; ++t) {
    std::iota(order.begin(), order.end(), int64_t(0));
    auto biased = [&](int64_t e) { return s[size_t(t * E + e)] + b[size_t(e)]; };
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t c) {
      return biased(a) > biased(c) || (biased(a) == biased(c) && a < c);
    });
    for (int64_t j = 0; j < k; ++j) {
      chosen[size_t(t * k + j)] = double(order[size_t(j)]);
      ++count[size_t(order[size_t(j)])];
    }
  }
  Routing r;
  r.offset.assign(size_t(E + 1), 0);
  for (int64_t e = 0; e < E; ++e) r.offset[size_t(e + 1)] = r.offset[size_t(e)] + count[size_t(e)];
  std::vector<int64_t> next(r.offset.begin(), r.offset.end() - 1);
  std::vector<double> assignment(static_cast<size_t>(N * k)), token(static_cast<size_t>(N * k));
  for (int64_t a = 0; a < N * k; ++a) {
    const int64_t pos = next[size_t(chosen[size_t(a)])]++;
    assignment[size_t(pos)] = double(a);
    token[size_t(pos)] = double(a / k);
  }
  r.chosen = Tensor::from_vector(chosen, {N, k}, DType::i64);
  r.assignment = Tensor::from_vector(assignment, {N * k}, DType::i64);
  r.token = Tensor::from_vector(token, {N * k}, DType::i64);
  return r;
}

}  // namespace

MoeRouter::MoeRouter(int64_t hidden, int64_t experts, Device device, DType dtype)
    : Linear(hidden, experts, false, device, dtype) {
  bias_ = register_buffer("e_score_correction_bias", Tensor::zeros({experts}, DType::f32, device));
}

Moe::Moe(const MoeConfig& c, int64_t hidden, int64_t expert_hidden, Device device, DType dtype)
    : c_(c), hidden_(hidden), expert_hidden_(expert_hidden) {
  LINEA_CHECK_T(ConfigError, c.experts >= 1 && c.top_k >= 1 && c.top_k <= c.experts && c.shared_experts >= 0,
                "Moe: ", c.experts, " experts, top_k ", c.top_k, ", ", c.shared_experts,
                " shared: expected experts >= 1, 1 <= top_k <= experts, shared_experts >= 0");
  gate_ = register_module("gate", std::make_shared<MoeRouter>(hidden, c.experts, device, dtype));
  experts_ = register_module("experts", std::make_shared<ModuleList<GLU>>());
  for (int64_t e = 0; e < c.experts; ++e)
    experts_->append(std::make_shared<GLU>(hidden, expert_hidden, Activation::silu, false, 0.0, device, dtype));
  if (c.shared_experts > 0)
    shared_ = register_module("shared_experts", std::make_shared<GLU>(hidden, c.shared_experts * expert_hidden,
                                                                      Activation::silu, false, 0.0, device, dtype));
  pending_load_.assign(size_t(c.experts), 0.0);
}

Variable Moe::forward(const Variable& x) const {
  const Shape shape = x.shape();
  const int64_t d = shape.back(), N = x.data().numel() / d, E = c_.experts, k = c_.top_k;
  const Variable X = reshape(x, {N, d});
  // Router scores in f32 at least (bf16 activations are widened first).
  const DType score_type = X.dtype() == DType::f64 ? DType::f64 : DType::f32;
  const Variable logits = matmul(to_dtype(X, score_type), to_dtype(gate_->weight(), score_type), false, true);
  const Variable s = sigmoid(logits);  // [N, E]
  auto t0 = std::chrono::steady_clock::now();
  auto timed = [&] {
    const auto t1 = std::chrono::steady_clock::now();
    routing_seconds_ += std::chrono::duration<double>(t1 - t0).count();
    t0 = t1;
  };
  const Routing r = route(s.data(), gate_->correction_bias(), k);
  Variable w = gather(s, 1, r.chosen.to(X.device()));  // [N, k]: unbiased scores of the chosen
  if (c_.renormalize) w = w / add_scalar(sum(w, {1}, true), 1e-20);
  w = scale(w, c_.routed_scaling);
  const Variable sorted_w = to_dtype(index_select(reshape(w, {N * k}), 0, r.assignment.to(X.device())), X.dtype());
  const Tensor token = r.token.to(X.device());
  const Variable xs = index_select(X, 0, token);  // [N k, d], grouped by expert
  timed();
  std::vector<Variable> ys;
  for (int64_t e = 0; e < E; ++e) {
    const int64_t begin = r.offset[size_t(e)], end = r.offset[size_t(e + 1)];
    if (end > begin) ys.push_back((*experts_)[size_t(e)].forward(slice(xs, 0, begin, end)));
  }
  const Variable experts_out = concat(ys, 0);
  t0 = std::chrono::steady_clock::now();
  const Variable routed = experts_out * reshape(sorted_w, {N * k, 1});
  const Tensor rows = token.reshape({N * k, 1}).expand({N * k, d}).contiguous();
  Variable y = scatter_add(Variable(Tensor::zeros({N, d}, X.dtype(), X.device())), 0, rows, routed);
  timed();
  if (shared_) y = y + shared_->forward(X);
  if (is_training()) {
    last_load_.assign(size_t(E), 0.0);
    for (int64_t e = 0; e < E; ++e) {
      last_load_[size_t(e)] = double(r.offset[size_t(e + 1)] - r.offset[size_t(e)]);
      pending_load_[size_t(e)] += last_load_[size_t(e)];
    }
    last_aux_loss_ = Variable();
    if (c_.aux_loss_alpha > 0) {
      // f_e: share of the assignments; P_e: mean score normalized over experts per token.
      std::vector<double> f(last_load_);
      for (double& v : f) v /= double(N * k);
      const Variable P = mean(s / sum(s, {1}, true), {0});
      const Variable fv(Tensor::from_vector(f, {E}, score_type).to(X.device()));
      last_aux_loss_ = scale(sum(P * fv), c_.aux_loss_alpha * double(E));
    }
  }
  return reshape(y, shape);
}

void Moe::after_step(const StepEnd& step) {
  if (c_.bias_update_rate <= 0) return;
  // The same loads on every rank, so every replica moves its biases alike.
  Tensor load = Tensor::from_vector(pending_load_, {c_.experts}, DType::f32).to(step.comm.device());
  step.comm.all_reduce(load);
  const std::vector<double> total = load.to(Device::cpu(), DType::f64).to_vector();
  const double mean_load = std::accumulate(total.begin(), total.end(), 0.0) / double(c_.experts);
  std::vector<double> bias = gate_->correction_bias().to(Device::cpu(), DType::f64).to_vector();
  for (size_t e = 0; e < bias.size(); ++e) {
    const double gap = mean_load - total[e];
    bias[e] += c_.bias_update_rate * double((gap > 0) - (gap < 0));
  }
  Tensor(gate_->correction_bias()).copy_(Tensor::from_vector(bias, {c_.experts}, DType::f64));
  std::fill(pending_load_.begin(), pending_load_.end(), 0.0);
}

void Moe::report(const std::string& prefix, std::vector<std::pair<std::string, Variable>>& aux_losses,
                 std::vector<std::pair<std::string, double>>& metrics) const {
  if (last_load_.empty()) return;
  const double total = std::accumulate(last_load_.begin(), last_load_.end(), 0.0);
  const double mean_load = total / double(c_.experts);
  metrics.emplace_back(prefix + "moe_load_max_over_mean",
                       *std::max_element(last_load_.begin(), last_load_.end()) / std::max(mean_load, 1e-30));
  metrics.emplace_back(prefix + "moe_dropped_tokens", 0.0);  // capacity-free
  for (int64_t e = 0; e < c_.experts; ++e)
    metrics.emplace_back(str_cat(prefix, "moe_load_", e), last_load_[size_t(e)] / std::max(total, 1e-30));
  if (last_aux_loss_.defined()) aux_losses.emplace_back(prefix + "moe_balance_loss", last_aux_loss_);
}

std::vector<const Linear*> Moe::output_projections() const {
  std::vector<const Linear*> out;
  for (size_t e = 0; e < experts_->size(); ++e) out.push_back(&(*experts_)[e].down_proj());
  if (shared_) out.push_back(&shared_->down_proj());
  return out;
}

double Moe::flops_per_token() const {
  const double expert = 3.0 * double(hidden_) * double(expert_hidden_);
  return 6 * (double(hidden_) * double(c_.experts) + double(c_.top_k) * expert + double(c_.shared_experts) * expert);
}

}  // namespace linea
