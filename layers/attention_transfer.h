// LoLCATs stage 1, attention transfer (specs/lolcats.md §2): teach each hedgehog_window layer
// to reproduce the softmax attention it replaces. Teacher forcing: every layer computes q, k,
// v from the teacher's hidden state, the teacher's exact causal softmax over them is what the
// layer passes on (after o_proj), so every student sees exactly the teacher's inputs; the
// student's hybrid output ŷ [B, H, T, D] (before o_proj) only feeds the loss
//   mse_factor · mean over hedgehog layers of mean((ŷ − y)²)
//   + xent_factor · mean over hedgehog layers of CE,
// the MSE's mean over batch, heads, positions and channels; CE is LoLCATs' attention-weight
// cross-entropy (spec §2): the student's normalised weights A (HedgehogWindowAttention::
// weights) clamped at 1e-12 into p, log-softmaxed per row against the teacher's softmax rows
// A*, i.e. the mean over rows r of log Σ_k p_rk − Σ_j A*_rj log p_rj (the renormalised form
// PyTorch's CrossEntropyLoss computes; O(T²) memory per layer, skipped when xent_factor is 0).
// Only the feature maps and the window factors receive gradients (q, k, v are computed
// without them). The LM head is not run.
// Deviation (spec §6.4): the teacher accumulates in the model's dtype (f32 on the CPU) where the
// reference multiplies in bf16 around an fp32 softmax.
#pragma once
#include <vector>

#include "layers/decoder.h"

namespace linea {

struct TransferLoss {
  Variable loss;                   // scalar: mse_factor · mean layer MSE + xent_factor · mean layer CE
  std::vector<double> layer_mse;   // per hedgehog_window layer, in order
  std::vector<double> layer_xent;  // likewise, when xent_factor > 0 (else empty)
};

// ids [B, T]: full rows (no padding). ConfigError when the model is post-norm or has no
// hedgehog_window layer.
TransferLoss attention_transfer_loss(Decoder& model, const Tensor& ids, double mse_factor, double xent_factor = 0.0);

}  // namespace linea
