// CPU short causal depthwise convolution: parallel over channel ranges (each thread owns its
// channels' weight gradients), sequences and taps inside; channels innermost (contiguous).
#include <vector>

#include "core/cpu/parallel.h"
#include "core/kernels/short_conv.h"

namespace linea::cpu {
namespace {

// Input x̃[p, c] of sequence s at position p (negative: from its state, zero without one).
template <class S>
struct SequenceInput {
  const S* x;      // row 0 of the sequence in [B*T, C]
  const S* state;  // [C, W-1] of the sequence, or null
  int64_t C, W;
  S at(int64_t p, int64_t c) const {
    if (p >= 0) return x[p * C + c];
    return state ? state[c * (W - 1) + p + W - 1] : S(0);
  }
};

template <class S>
SequenceInput<S> sequence_input(const Tensor& x, const Tensor& state, const ShortConvDims& d, int64_t s) {
  return {x.data<S>() + d.seg_start[s] * d.C, state.defined() ? state.data<S>() + s * d.C * (d.W - 1) : nullptr, d.C,
          d.W};
}

template <class S>
void forward(const Tensor& x, const Tensor& weight, const Tensor& initial_state, const Tensor& y,
             const Tensor& final_state, const ShortConvDims& d) {
  parallel_for(d.C, 16, [&](int64_t c0, int64_t c1) {
    const S* w = weight.data<S>();
    for (int64_t s = 0; s < d.segments; ++s) {
      const SequenceInput<S> in = sequence_input<S>(x, initial_state, d, s);
      S* out = y.data<S>() + d.seg_start[s] * d.C;
      const int64_t len = d.seg_length[s];
      for (int64_t t = 0; t < len; ++t)
        for (int64_t j = 0; j < d.W; ++j) {
          const int64_t p = t - (d.W - 1) + j;
          for (int64_t c = c0; c < c1; ++c) out[t * d.C + c] += w[c * d.W + j] * in.at(p, c);
        }
      if (final_state.defined()) {
        S* fin = final_state.data<S>() + s * d.C * (d.W - 1);
        for (int64_t c = c0; c < c1; ++c)
          for (int64_t i = 0; i < d.W - 1; ++i) fin[c * (d.W - 1) + i] = in.at(len - (d.W - 1) + i, c);
      }
    }
  });
}

template <class S>
void backward(const Tensor& x, const Tensor& weight, const Tensor& dy, const Tensor& initial_state,
              const Tensor& dfinal_state, const Tensor& dx, const Tensor& dweight, const Tensor& dinitial_state,
              const ShortConvDims& d) {
  parallel_for(d.C, 16, [&](int64_t c0, int64_t c1) {
    const S* w = weight.data<S>();
    S* dw = dweight.data<S>();
    for (int64_t c = c0; c < c1; ++c)
      for (int64_t j = 0; j < d.W; ++j) dw[c * d.W + j] = S(0);
    for (int64_t s = 0; s < d.segments; ++s) {
      const SequenceInput<S> in = sequence_input<S>(x, initial_state, d, s);
      const S* g = dy.data<S>() + d.seg_start[s] * d.C;
      S* gx = dx.data<S>() + d.seg_start[s] * d.C;
      S* gstate = dinitial_state.defined() ? dinitial_state.data<S>() + s * d.C * (d.W - 1) : nullptr;
      // The gradient reaching input position p: a row of dx, or the initial state (dropped without one).
      auto add_input_grad = [&](int64_t p, int64_t c, S value) {
        if (p >= 0) gx[p * d.C + c] += value;
        else if (gstate) gstate[c * (d.W - 1) + p + d.W - 1] += value;
      };
      const int64_t len = d.seg_length[s];
      for (int64_t t = 0; t < len; ++t)
        for (int64_t j = 0; j < d.W; ++j) {
          const int64_t p = t - (d.W - 1) + j;
          for (int64_t c = c0; c < c1; ++c) {
            dw[c * d.W + j] += g[t * d.C + c] * in.at(p, c);
            add_input_grad(p, c, w[c * d.W + j] * g[t * d.C + c]);
          }
        }
      if (dfinal_state.defined()) {
        const S* gfin = dfinal_state.data<S>() + s * d.C * (d.W - 1);
        for (int64_t c = c0; c < c1; ++c)
          for (int64_t i = 0; i < d.W - 1; ++i) add_input_grad(len - (d.W - 1) + i, c, gfin[c * (d.W - 1) + i]);
      }
    }
  });
}

}  // namespace

void short_conv_fwd(const Tensor& x, const Tensor& weight, const Tensor& initial_state, const Tensor& y,
                    const Tensor& final_state, const ShortConvDims& d) {
  if (x.dtype() == DType::f64) forward<double>(x, weight, initial_state, y, final_state, d);
  else forward<float>(x, weight, initial_state, y, final_state, d);
}

void short_conv_bwd(const Tensor& x, const Tensor& weight, const Tensor& dy, const Tensor& initial_state,
                    const Tensor& dfinal_state, const Tensor& dx, const Tensor& dweight, const Tensor& dinitial_state,
                    const ShortConvDims& d) {
  if (x.dtype() == DType::f64) backward<double>(x, weight, dy, initial_state, dfinal_state, dx, dweight, dinitial_state, d);
  else backward<float>(x, weight, dy, initial_state, dfinal_state, dx, dweight, dinitial_state, d);
}

}  // namespace linea::cpu
