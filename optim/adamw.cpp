#include "core/kernels/adamw.h"
#include "optim/optimizer.h"

namespace linea {

AdamW::AdamW(std::vector<ParamGroup> groups, AdamWOptions options, OwnedSlices owned)
    : Optimizer(std::move(groups), Sharding::elementwise, std::move(owned)), options_(options) {
  LINEA_CHECK_T(Error, options.beta1 >= 0 && options.beta1 < 1 && options.beta2 >= 0 && options.beta2 < 1,
                "AdamW: betas must lie in [0, 1), got (", options.beta1, ", ", options.beta2, ")");
  LINEA_CHECK_T(Error, options.eps > 0, "AdamW: eps must be positive, got ", options.eps);
  add_state("exp_avg");
  add_state("exp_avg_sq");
}

void AdamW::update(Slot& slot, const Tensor& grad, double lr, int64_t step) {
  auto master = slot.state.find("master");
  kernels::adamw_update(slot.value(), grad, slot.state.at("exp_avg"), slot.state.at("exp_avg_sq"),
                        master != slot.state.end() ? master->second : Tensor(),
                        AdamWStep{lr, options_.beta1, options_.beta2, options_.eps, slot.weight_decay, step});
}

}  // namespace linea
