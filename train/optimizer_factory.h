// The optimizer a recipe's optim section names, over a model's parameters: the one place
// that maps OptimConfig onto optim/'s classes, so a new optimizer is its class plus an
// entry here (the trainer drives every kind, sharded or not, through the Optimizer API).
#pragma once
#include <memory>

#include "configs/config.h"
#include "optim/optimizer.h"

namespace linea {

// Weight decay groups from optim.weight_decay and optim.no_decay; `owned`: this rank's
// slices under ZeRO-1 (DataParallel::owned_slices()), nullopt otherwise. ConfigError when
// the kind cannot shard its state but `owned` is given.
std::unique_ptr<Optimizer> make_optimizer(const OptimConfig& o, const NamedParams& params,
                                          OwnedSlices owned = std::nullopt);

}  // namespace linea
