#include "autograd/checkpoint.h"

#include "autograd/engine.h"
#include "autograd/node.h"
#include "core/rng.h"

namespace linea {

std::vector<Variable> checkpoint(const BlockFn& fn, const std::vector<Variable>& inputs) {
  const uint64_t seed = default_generator().seed(), offset = default_generator().offset();
  std::vector<Variable> outs;
  {
    NoGradGuard ng;
    outs = fn(inputs);
  }
  std::vector<Tensor> out_tensors;
  for (const Variable& v : outs) out_tensors.push_back(v.data());
  // The graph must reach parameters used inside fn even if no input requires grad, so
  // the node is recorded whenever grad mode is on; a dummy leaf stands for them.
  std::vector<Variable> recorded_inputs = inputs;
  Variable params_anchor(Tensor::zeros({}, DType::f32), true);
  recorded_inputs.push_back(params_anchor);

  return record_op("checkpoint", out_tensors, recorded_inputs,
                   [fn, inputs, seed, offset](std::vector<Tensor>& grads) {
                     std::vector<Variable> detached;
                     for (const Variable& v : inputs) {
                       Variable d = v.detach();
                       if (v.requires_grad()) d.set_requires_grad(true);
                       detached.push_back(d);
                     }
                     Generator& gen = default_generator();
                     const uint64_t cur_seed = gen.seed(), cur_offset = gen.offset();
                     gen.set_state(seed, offset);
                     std::vector<Variable> re;
                     {
                       EnableGradGuard eg;
                       re = fn(detached);
                     }
                     gen.set_state(cur_seed, cur_offset);
                     std::vector<Variable> roots;
                     std::vector<Tensor> root_grads;
                     for (size_t i = 0; i < re.size(); ++i)
                       if (re[i].requires_grad()) {
                         roots.push_back(re[i]);
                         root_grads.push_back(grads[i]);
                       }
                     if (!roots.empty()) run_backward(roots, root_grads);
                     std::vector<Tensor> input_grads;
                     for (const Variable& d : detached) input_grads.push_back(d.requires_grad() ? d.grad() : Tensor());
                     input_grads.push_back(Tensor());  // the anchor gets nothing
                     return input_grads;
                   });
}

}  // namespace linea
