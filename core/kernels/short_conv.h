// Short causal depthwise convolution (specs/kimi_linear.md §1.2 step 2; fla's ShortConvolution):
// per channel c, y[t, c] = Σ_{j<W} w[c, j] x[t - (W-1) + j, c], so w[c, W-1] multiplies the
// current token; inputs before a sequence's first token come from its state (zeros without
// one). Sequences never see each other, which is what resets the conv at every document
// boundary of a packed batch.
// Shapes: x [B, T, C]; weight [C, W]; states [N, C, W-1] (N = sequences): the last W-1 inputs
// before (initial) or at the end of (final) each sequence, oldest first, i.e. the decode cache.
// Padding rows get y = 0 and zero gradients. CPU: f32 and f64. CUDA: f32, bf16, f16 (f32 math).
#pragma once
#include "core/kernels/attention.h"
#include "core/tensor.h"

namespace linea::kernels {

// With final_state non-null it receives each sequence's last W-1 inputs (from the initial
// state where the sequence is shorter).
Tensor short_conv_fwd(const Tensor& x, const Tensor& weight, const AttentionSegments& segments,
                      const Tensor& initial_state, Tensor* final_state);

struct ShortConvGrads {
  Tensor dx, dweight;
  Tensor dinitial_state;  // undefined when there was no initial state
};
// dy [B, T, C]; dfinal_state [N, C, W-1] or undefined.
ShortConvGrads short_conv_bwd(const Tensor& x, const Tensor& weight, const Tensor& dy, const AttentionSegments& segments,
                              const Tensor& initial_state, const Tensor& dfinal_state);

}  // namespace linea::kernels

namespace linea {

struct ShortConvDims {
  int64_t B, T, C, W;
  const int64_t* seg_start;
  const int64_t* seg_length;
  int64_t segments;
};

}  // namespace linea

namespace linea::cpu {
// Contiguous CPU tensors of one floating dtype; y, dx, dinitial_state arrive zeroed.
void short_conv_fwd(const Tensor& x, const Tensor& weight, const Tensor& initial_state, const Tensor& y,
                    const Tensor& final_state, const ShortConvDims& d);
void short_conv_bwd(const Tensor& x, const Tensor& weight, const Tensor& dy, const Tensor& initial_state,
                    const Tensor& dfinal_state, const Tensor& dx, const Tensor& dweight, const Tensor& dinitial_state,
                    const ShortConvDims& d);
}  // namespace linea::cpu

namespace linea::cuda {
// The same contract on CUDA tensors; dx and dinitial_state need not arrive zeroed except on
// padding rows (which no sequence writes).
void short_conv_fwd(const Tensor& x, const Tensor& weight, const Tensor& initial_state, const Tensor& y,
                    const Tensor& final_state, const ShortConvDims& d);
void short_conv_bwd(const Tensor& x, const Tensor& weight, const Tensor& dy, const Tensor& initial_state,
                    const Tensor& dfinal_state, const Tensor& dx, const Tensor& dweight, const Tensor& dinitial_state,
                    const ShortConvDims& d);
}  // namespace linea::cuda
