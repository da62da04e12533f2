// CausalLM::loss.
#include "layers/causal_lm.h"

#include "autograd/ops/cross_entropy.h"
#include "autograd/ops/views.h"

namespace linea {

Variable CausalLM::loss(const Tensor& ids, const Tensor& targets, int64_t ignore_index) {
  LINEA_CHECK(targets.shape() == ids.shape(), "CausalLM::loss: targets ", targets.desc(), " must match ids ",
              ids.desc());
  Variable logits = forward(ids);
  return cross_entropy(reshape(logits, {ids.numel(), vocab_size()}), targets.reshape({ids.numel()}), ignore_index);
}

}  // namespace linea
