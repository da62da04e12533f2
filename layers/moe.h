// Moe: the mixture-of-experts channel mixer of Kimi Linear and DeepSeek-V3
// (specs/kimi_linear.md §4.2), capacity-free (no token is ever dropped):
//   s = sigmoid(x W_rᵀ) in f32 or wider [E]; the top_k experts by s + b, b the correction
//   bias (a buffer, no gradient); weights = the chosen s (over their sum + 1e-20 when
//   renormalized) times routed_scaling; y = Σ_chosen w_e Expert_e(x) + Shared(x).
// Experts are SwiGLUs; the assignments are sorted by expert (stable, so a fixed batch and
// thread count give the same sums) and each expert runs one GEMM chain on its contiguous
// rows, then a scatter-add puts them back: no per-token loops.
// Balancing: after each optimizer step (after_step) the load of every expert since the last
// step, summed over the data-parallel ranks, moves b_e by bias_update_rate * sign(mean - load_e)
// (DeepSeek-V3's auxiliary-loss-free rule; equal loads leave b alone); optionally a balance loss
// alpha E Σ_e f_e P_e over the micro-batch (DeepSeek's, over the batch rather than each
// sequence). Names follow HF's Kimi layout: gate.weight, gate.e_score_correction_bias,
// experts.<e>.{gate,up,down}_proj (HF: w1, w3, w2), shared_experts.{gate,up,down}_proj.
#pragma once
#include <vector>

#include "layers/glu.h"
#include "layers/module_list.h"

namespace linea {

// The router: a Linear without bias (gate.weight [E, hidden], initialized as every Linear)
// plus the correction bias, an f32 buffer [E] ("e_score_correction_bias") that checkpoints keep.
class MoeRouter : public Linear {
 public:
  MoeRouter(int64_t hidden, int64_t experts, Device device, DType dtype);
  const Tensor& correction_bias() const { return bias_; }

 private:
  Tensor bias_;
};

class Moe : public ChannelMixer {
 public:
  Moe(const MoeConfig& c, int64_t hidden, int64_t expert_hidden, Device device, DType dtype);
  Variable forward(const Variable& x) const override;
  // 6 per weight a token passes: the router, top_k experts and the shared SwiGLU.
  double flops_per_token() const override;
  std::vector<const Linear*> output_projections() const override;
  void after_step(const StepEnd& step) override;
  void report(const std::string& prefix, std::vector<std::pair<std::string, Variable>>& aux_losses,
              std::vector<std::pair<std::string, double>>& metrics) const override;

  // Assignments per expert since the last optimizer step (training forwards only).
  const std::vector<double>& pending_load() const { return pending_load_; }
  // Wall time of every forward's routing and permutation so far (scores to chosen experts,
  // the sort, the gather into expert order and the scatter-add back; their backward passes
  // are not included): bench decoder's "routing share".
  double routing_seconds() const { return routing_seconds_; }

 private:
  MoeConfig c_;
  int64_t hidden_, expert_hidden_;
  Child<MoeRouter> gate_;
  Child<ModuleList<GLU>> experts_;
  Child<GLU> shared_;
  // What the last training forward saw, for report(); the load until after_step uses it.
  mutable std::vector<double> pending_load_, last_load_;
  mutable Variable last_aux_loss_;
  mutable double routing_seconds_ = 0;
};

}  // namespace linea
