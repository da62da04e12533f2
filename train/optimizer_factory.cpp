#include "train/optimizer_factory.h"

namespace linea {
namespace {

std::vector<ParamGroup> param_groups(const OptimConfig& o, const NamedParams& params) {
  // AdamW shrinks by lr_t * weight_decay; Composer's DecoupledAdamW by (lr_t / lr) * weight_decay,
  // which is AdamW's rule with weight_decay / lr.
  const double decay = o.kind == OptimKind::decoupled_adamw ? (o.lr > 0 ? o.weight_decay / o.lr : 0.0) : o.weight_decay;
  return make_param_groups(params, decay, o.no_decay);
}

}  // namespace

std::unique_ptr<Optimizer> make_optimizer(const OptimConfig& o, const NamedParams& params, OwnedSlices owned) {
  switch (o.kind) {
    case OptimKind::sgd: {
      SGDOptions s;
      s.momentum = o.momentum;
      return std::make_unique<SGD>(param_groups(o, params), s, std::move(owned));
    }
    case OptimKind::muon: {
      LINEA_CHECK_T(ConfigError, !owned, "optim.kind: muon orthogonalizes whole matrices and cannot be sharded; "
                                         "set dist.shard_optimizer: false");
      MuonOptions m;
      m.momentum = o.muon_momentum;
      m.nesterov = o.muon_nesterov;
      m.ns_steps = o.muon_ns_steps;
      m.adamw = {o.betas[0], o.betas[1], o.eps};
      m.adamw_params = o.adamw_params;
      return std::make_unique<Muon>(param_groups(o, params), m);
    }
    case OptimKind::adamw:
    case OptimKind::decoupled_adamw:
      break;
  }
  AdamWOptions a;
  a.beta1 = o.betas[0];
  a.beta2 = o.betas[1];
  a.eps = o.eps;
  return std::make_unique<AdamW>(param_groups(o, params), a, std::move(owned));
}

}  // namespace linea
