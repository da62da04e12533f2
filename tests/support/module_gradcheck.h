// Gradcheck of a module's scalar loss with respect to some of its named parameters: the
// parameters are rebound to gradcheck's perturbed inputs and one op node routes the loss
// gradient back to them through the module's own backward.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/node.h"
#include "layers/module.h"

namespace linea::testing {

inline GradcheckResult module_gradcheck(Module& model, const std::vector<std::string>& names,
                                        const std::function<Variable()>& loss_fn) {
  std::vector<Variable> params;
  std::vector<Tensor> inputs;
  for (const std::string& n : names) {
    params.push_back(model.parameter(n));
    inputs.push_back(params.back().data().clone());
  }
  auto fn = [&](const std::vector<Variable>& x) {
    for (size_t i = 0; i < params.size(); ++i) params[i].set_data(x[i].data());
    Variable loss = loss_fn();
    return record_op("module_loss", loss.data(), x, [loss, params](const Tensor& g, const NeedsGrad&) {
      for (const Variable& p : params) Variable(p).zero_grad();
      loss.backward(g);
      std::vector<Tensor> grads;
      for (const Variable& p : params) grads.push_back(p.grad());
      return grads;
    });
  };
  return gradcheck(fn, inputs);
}

}  // namespace linea::testing
