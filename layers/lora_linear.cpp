#include "layers/lora_linear.h"

#include <cmath>

#include "autograd/ops/dropout.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/matmul.h"

namespace linea {

LoraLinear::LoraLinear(const Linear& base, const LoraConfig& c)
    : Linear(base.weight(), base.bias()), scaling_(c.alpha / double(c.r)), dropout_(c.dropout) {
  const Tensor& w = base.weight().data();
  const int64_t out = w.size(0), in = w.size(1);
  lora_A_ = register_parameter("lora_A", Variable(Tensor::zeros({c.r, in}, w.dtype(), w.device())));
  lora_B_ = register_parameter("lora_B", Variable(Tensor::zeros({out, c.r}, w.dtype(), w.device())));
}

void LoraLinear::reset_lora(Generator& gen) {
  // kaiming_uniform_(a = sqrt(5)) on [r, in]: bound sqrt(6 / ((1 + 5) in)) = 1 / sqrt(in).
  const double bound = 1.0 / std::sqrt(double(lora_A_.size(1)));
  const Tensor u = rand_uniform(lora_A_.shape(), gen, DType::f64);
  std::vector<double> v = u.to_vector();
  for (double& e : v) e = (2 * e - 1) * bound;
  Tensor(lora_A_.data()).copy_(Tensor::from_vector(v, lora_A_.shape(), DType::f64));
  Tensor(lora_B_.data()).zero_();
}

Variable LoraLinear::forward(const Variable& x) const {
  const Variable base = Linear::forward(x);
  Variable in = dropout_ > 0 ? dropout(x, dropout_, default_generator(), is_training()) : x;
  return base + scale(linear(linear(in, lora_A_), lora_B_), scaling_);
}

Tensor LoraLinear::merged_weight() const {
  NoGradGuard no_grad;
  return (weight() + scale(matmul(lora_B_, lora_A_), scaling_)).data().contiguous();
}

void attach_lora(Module& model, int64_t layers, const LoraConfig& c) {
  for (int64_t i = 0; i < layers; ++i)
    for (const std::string& t : c.targets) {
      const std::string path = str_cat("layers.", i, ".self_attn.", t);
      Linear* base = nullptr;
      for (auto& [name, m] : model.named_modules())
        if (name == path) base = dynamic_cast<Linear*>(m);
      LINEA_CHECK_T(ConfigError, base, "model.lora.targets: layer ", i, "'s token mixer has no projection '", t,
                    "' (", path, "), expected the names of its Linear children such as q_proj, k_proj, v_proj, o_proj");
      model.replace_module(path, std::make_shared<LoraLinear>(*base, c));
    }
}

}  // namespace linea
