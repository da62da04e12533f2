// Unpadding metadata for MosaicBERT's unpadded encoder (bert_padding.py): the flat positions
// of real tokens, cu_seqlens, and gather/scatter between padded [B,T,C] and packed [total,C] rows.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace linea {

struct Unpadded {
  Tensor indices;         // i64 [total_tokens]: flat positions b*T + t of real tokens, row-major
  Tensor cu_seqlens;      // i32 [B+1]: 0, then the running sum of each row's real-token count
  int64_t max_seqlen = 0;    // the longest row's real-token count
  int64_t total_tokens = 0;  // cu_seqlens[B]
};

// attention_mask: [B, T] u8, i32 or i64 on any device, nonzero = real token (need not be a
// prefix). The metadata is computed on the host; indices and cu_seqlens live on the mask's device.
Unpadded unpad_metadata(const Tensor& attention_mask);

// x [B, T, C] -> [total_tokens, C]: the rows of real tokens (index_select; CPU or CUDA).
Tensor unpad_rows(const Tensor& x, const Unpadded& u);
// x [total_tokens, C] (floating) -> [B, T, C] with the rows back in place and zeros at padding
// (index_add into zeros; CPU or CUDA).
Tensor pad_rows(const Tensor& x, const Unpadded& u, int64_t B, int64_t T);

}  // namespace linea
