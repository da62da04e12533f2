// CUDA short causal depthwise convolution. One thread per (sequence, channel) walks its
// sequence: consecutive threads take consecutive channels, so every row read is coalesced.
// The backward writes dx and the initial state's gradient directly (each input position's
// gradient gathers the W outputs that read it, so nothing is accumulated across threads)
// and per-sequence weight-gradient partials, summed over sequences in order by a second
// kernel: deterministic, no atomics. f32 arithmetic for every input dtype.
#include <cstdint>

#include "core/cuda/sequence_kernels.cuh"
#include "core/kernels/short_conv.h"

namespace linea::cuda {
namespace {

struct ConvLayout {
  int64_t C, W, N;
  const int64_t* seg;  // [2, N]: starts (rows of [B*T]), then lengths
};

// Input x̃[p, c] of the sequence whose first row is `x` (negative p: from its state, or 0).
template <class E>
__device__ __forceinline__ float input_at(const E* x, const E* state, int64_t p, int64_t c, const ConvLayout& l) {
  if (p >= 0) return load_as<float, E>(x[p * l.C + c]);
  return state ? load_as<float, E>(state[c * (l.W - 1) + p + l.W - 1]) : 0.f;
}

template <class E>
__global__ void short_conv_fwd_kernel(const E* x, const E* w, const E* initial, E* y, E* final_state, ConvLayout l) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= l.N * l.C) return;
  const int64_t s = i / l.C, c = i % l.C, start = l.seg[s], len = l.seg[l.N + s];
  const E* xs = x + start * l.C;
  const E* st = initial ? initial + s * l.C * (l.W - 1) : nullptr;
  for (int64_t t = 0; t < len; ++t) {
    float acc = 0.f;
    for (int64_t j = 0; j < l.W; ++j) acc += load_as<float, E>(w[c * l.W + j]) * input_at(xs, st, t - (l.W - 1) + j, c, l);
    y[(start + t) * l.C + c] = store_as<E, float>(acc);
  }
  if (final_state)
    for (int64_t k = 0; k < l.W - 1; ++k)
      final_state[(s * l.C + c) * (l.W - 1) + k] = store_as<E, float>(input_at(xs, st, len - (l.W - 1) + k, c, l));
}

// dw_partial [N, C, W] in f32.
template <class E>
__global__ void short_conv_bwd_kernel(const E* x, const E* w, const E* dy, const E* initial, const E* dfinal, E* dx,
                                      E* dinitial, float* dw_partial, ConvLayout l) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= l.N * l.C) return;
  const int64_t s = i / l.C, c = i % l.C, start = l.seg[s], len = l.seg[l.N + s], W = l.W;
  const E* xs = x + start * l.C;
  const E* g = dy + start * l.C;
  const E* st = initial ? initial + s * l.C * (W - 1) : nullptr;
  const E* gfin = dfinal ? dfinal + (s * l.C + c) * (W - 1) : nullptr;
  // The gradient of input position p: the outputs t = p + W-1-j (j < W) inside the
  // sequence, plus the final state's slot holding p.
  for (int64_t p = -(W - 1); p < len; ++p) {
    float acc = 0.f;
    for (int64_t j = 0; j < W; ++j) {
      const int64_t t = p + W - 1 - j;
      if (t >= 0 && t < len) acc += load_as<float, E>(w[c * W + j]) * load_as<float, E>(g[t * l.C + c]);
    }
    const int64_t slot = p - (len - (W - 1));
    if (gfin && slot >= 0) acc += load_as<float, E>(gfin[slot]);
    if (p >= 0) dx[(start + p) * l.C + c] = store_as<E, float>(acc);
    else if (dinitial) dinitial[(s * l.C + c) * (W - 1) + p + W - 1] = store_as<E, float>(acc);
  }
  for (int64_t j = 0; j < W; ++j) {
    float acc = 0.f;
    for (int64_t t = 0; t < len; ++t)
      acc += load_as<float, E>(g[t * l.C + c]) * input_at(xs, st, t - (W - 1) + j, c, l);
    dw_partial[(s * l.C + c) * W + j] = acc;
  }
}

// dweight[c, j] = Σ_s dw_partial[s, c, j], sequences in order.
template <class E>
__global__ void sum_sequences_kernel(const float* dw_partial, E* dweight, int64_t N, int64_t CW) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= CW) return;
  float acc = 0.f;
  for (int64_t s = 0; s < N; ++s) acc += dw_partial[s * CW + i];
  dweight[i] = store_as<E, float>(acc);
}

unsigned blocks_for(int64_t n) {
  LINEA_CHECK(n <= int64_t(kBlock) * 0x7fffffff, "short_conv: ", n, " threads are too many for one CUDA grid");
  return unsigned(std::max<int64_t>(1, (n + kBlock - 1) / kBlock));
}

}  // namespace

void short_conv_fwd(const Tensor& x, const Tensor& weight, const Tensor& initial_state, const Tensor& y,
                    const Tensor& final_state, const ShortConvDims& d) {
  if (d.segments == 0) return;
  const Tensor seg = upload_segment_table(d.seg_start, d.seg_length, d.segments, x.device());
  const ConvLayout l{d.C, d.W, d.segments, cptr<int64_t>(seg)};
  dispatch_dtype(x.dtype(), "short_conv_fwd", [&](auto tag) {
    using E = typename decltype(tag)::type;
    short_conv_fwd_kernel<E><<<blocks_for(d.segments * d.C), kBlock, 0, stream()>>>(
        cptr<E>(x), cptr<E>(weight), cptr_or_null<E>(initial_state), mptr<E>(y), mptr_or_null<E>(final_state), l);
  });
  LINEA_CUDA_LAUNCH_CHECK();
}

void short_conv_bwd(const Tensor& x, const Tensor& weight, const Tensor& dy, const Tensor& initial_state,
                    const Tensor& dfinal_state, const Tensor& dx, const Tensor& dweight, const Tensor& dinitial_state,
                    const ShortConvDims& d) {
  if (d.segments == 0) {
    Tensor(dweight).zero_();
    return;
  }
  const Tensor seg = upload_segment_table(d.seg_start, d.seg_length, d.segments, x.device());
  const ConvLayout l{d.C, d.W, d.segments, cptr<int64_t>(seg)};
  Tensor partial = Tensor::empty({d.segments, d.C, d.W}, DType::f32, x.device());
  dispatch_dtype(x.dtype(), "short_conv_bwd", [&](auto tag) {
    using E = typename decltype(tag)::type;
    short_conv_bwd_kernel<E><<<blocks_for(d.segments * d.C), kBlock, 0, stream()>>>(
        cptr<E>(x), cptr<E>(weight), cptr<E>(dy), cptr_or_null<E>(initial_state), cptr_or_null<E>(dfinal_state),
        mptr<E>(dx), mptr_or_null<E>(dinitial_state), mptr<float>(partial), l);
    LINEA_CUDA_LAUNCH_CHECK();
    sum_sequences_kernel<E><<<blocks_for(d.C * d.W), kBlock, 0, stream()>>>(cptr<float>(partial), mptr<E>(dweight),
                                                                          d.segments, d.C * d.W);
  });
  LINEA_CUDA_LAUNCH_CHECK();
}

}  // namespace linea::cuda
