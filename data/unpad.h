// Unpadding for MosaicBERT's encoder (bert_padding.py), done by the data side on the host:
// a padded batch becomes the rows the Encoder computes on (encoder_rows: the real tokens
// packed with their sequence lengths, or every position), and the metadata and row moves
// between padded [B,T,C] and packed [total,C] tensors.
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "layers/encoder.h"

namespace linea {

// One batch of B sequences padded to T (tensors on any device; they are read on the host).
struct EncoderBatch {
  Tensor input_ids;       // [B, T] i32/i64
  Tensor attention_mask;  // [B, T] u8/i32/i64, nonzero = real token; real tokens first in each row
  Tensor token_type_ids;  // [B, T] i32/i64 (sentence A = 0, B = 1), or undefined for all 0
};

// The rows the Encoder computes on: with `unpad` (model.unpad) the real tokens packed, any
// mask taken; without, every position, each row's real tokens first (DataError otherwise).
// ShapeError for inputs that are not [B, T] alike. Row ids and types stay on the CPU.
EncoderRows encoder_rows(const EncoderBatch& batch, bool unpad);

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
