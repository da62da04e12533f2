// ShardedAdamW: ZeRO-1's optimizer. Each rank updates only the slices of the parameters it
// owns, keeping AdamW moments (and f32 masters of bf16/f16 params) for those elements
// alone; the data-parallel helper reduce-scatters gradients into these slices beforehand
// and all-gathers the updated parameters afterwards. The update is AdamW's, elementwise,
// so the owned elements change exactly as a full AdamW step would change them.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/dist/communicator.h"
#include "optim/optimizer.h"

namespace linea {

// A run of one parameter's elements (in its row-major flattened order) owned by this rank.
struct ParamSlice {
  std::string name;    // a trained parameter of the optimizer's groups
  int64_t begin = 0;   // first element
  int64_t length = 0;  // number of elements
};

class ShardedAdamW {
 public:
  // `slices` must name trained (requires_grad, dense) parameters of `groups` and not
  // overlap; several slices may cover one parameter. Throws linea::Error otherwise.
  ShardedAdamW(std::vector<ParamGroup> groups, std::vector<ParamSlice> slices, AdamWOptions options = {});
  ShardedAdamW(const ShardedAdamW&) = delete;
  ShardedAdamW& operator=(const ShardedAdamW&) = delete;

  const char* kind() const { return "adamw"; }
  const std::vector<ParamSlice>& slices() const { return slices_; }
  // One update with learning rate lr (times each group's lr_scale). grads[i] is the
  // (averaged) gradient of slices()[i]: `length` elements, any floating dtype, on the
  // parameter's device.
  void step(double lr, const std::vector<Tensor>& grads);
  int64_t step_count() const { return step_count_; }

  // The full state in Optimizer::state()'s layout (param -> "exp_avg", "exp_avg_sq", and
  // "master" for bf16/f16 -> tensor of the parameter's shape), the same on every rank:
  // each rank fills its slices, zeros elsewhere, and a sum over ranks joins them. Every
  // rank must call it (a collective); the slices of all ranks must cover every element.
  OptimizerState gather_state(Communicator& comm) const;
  // Takes this rank's slices from a full state such as gather_state's (saved from any
  // world size) and sets the step count; owned elements of bf16/f16 params are set to the
  // restored master, rounded. Throws CheckpointError naming the parameter for a missing,
  // extra or misshapen entry; nothing is changed then.
  void load_state(const OptimizerState& full, int64_t step_count);

 private:
  struct Trained {
    std::string name;
    Variable param;
    double lr_scale;
    double weight_decay;
  };
  struct Shard {
    size_t trained;  // index into trained_
    int64_t begin, length;
    std::map<std::string, Tensor> state;  // "exp_avg", "exp_avg_sq" (+ "master"), [length]
  };
  std::vector<std::string> state_names(const Trained& t) const;

  std::vector<Trained> trained_;
  std::vector<ParamSlice> slices_;
  std::vector<Shard> shards_;  // one per slice, same order
  AdamWOptions options_;
  int64_t step_count_ = 0;
};

}  // namespace linea
