// short_conv op: the short causal depthwise convolution (core/kernels/short_conv.h),
// differentiable in x, the weight and the initial state; the final state (each sequence's
// last W-1 inputs) is a second output, the decode cache.
#pragma once
#include "autograd/variable.h"
#include "core/kernels/short_conv.h"

namespace linea {

struct ShortConvOutput {
  Variable y;            // [B, T, C]
  Variable final_state;  // [N, C, W-1]
};

ShortConvOutput short_conv(const Variable& x, const Variable& weight, const kernels::AttentionSegments& segments,
                           const Variable& initial_state = Variable());

}  // namespace linea
