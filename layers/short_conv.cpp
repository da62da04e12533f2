#include "layers/short_conv.h"

#include <cmath>

namespace linea {

ShortConv::ShortConv(int64_t channels, int64_t taps, Device device, DType dtype) : taps_(taps) {
  LINEA_CHECK_T(ConfigError, channels > 0 && taps >= 2, "ShortConv: ", channels, " channels and ", taps,
                " taps, expected channels > 0 and taps >= 2");
  weight_ = register_parameter("weight", Variable(Tensor::zeros({channels, taps}, dtype, device)));
}

Variable ShortConv::forward(const Variable& x, const kernels::AttentionSegments& segments, Tensor* state) const {
  const Variable initial = state && state->defined() ? Variable(*state) : Variable();
  const ShortConvOutput r = short_conv(x, weight_, segments, initial);
  if (state) *state = r.final_state.data();
  return r.y;
}

void ShortConv::init_own_parameters(Generator& gen) {
  const double bound = 1.0 / std::sqrt(double(taps_));
  uniform_(weight_.data(), gen, -bound, bound);
}

}  // namespace linea
