// Unpadding: host-side scan of the attention mask into encoder rows and metadata, row moves
// with the gather kernels.
#include "data/unpad.h"

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "core/kernels/gather.h"

namespace linea {

Unpadded unpad_metadata(const Tensor& attention_mask) {
  LINEA_CHECK_T(ShapeError, attention_mask.dim() == 2, "unpad_metadata: attention_mask ", attention_mask.desc(),
                " must be [B, T]");
  const DType dt = attention_mask.dtype();
  LINEA_CHECK(dt == DType::u8 || dt == DType::i32 || dt == DType::i64, "unpad_metadata: attention_mask ",
              attention_mask.desc(), " must be u8, i32 or i64");
  const int64_t B = attention_mask.size(0), T = attention_mask.size(1);
  Tensor mask = attention_mask.to(Device::cpu(), DType::i64).contiguous();
  const int64_t* m = mask.data<int64_t>();
  Tensor indices_host = Tensor::empty({B * T}, DType::i64);
  Tensor cu_host = Tensor::empty({B + 1}, DType::i32);
  int64_t* idx = indices_host.data<int64_t>();
  int32_t* cu = cu_host.data<int32_t>();
  Unpadded u;
  cu[0] = 0;
  int64_t total = 0;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t row_start = total;
    for (int64_t t = 0; t < T; ++t)
      if (m[b * T + t] != 0) idx[total++] = b * T + t;
    LINEA_CHECK(total <= INT32_MAX, "unpad_metadata: ", total, " real tokens overflow the i32 cu_seqlens");
    cu[b + 1] = int32_t(total);
    u.max_seqlen = std::max(u.max_seqlen, total - row_start);
  }
  u.total_tokens = total;
  u.indices = indices_host.narrow(0, 0, total).clone().to(attention_mask.device());
  u.cu_seqlens = cu_host.to(attention_mask.device());
  return u;
}

EncoderRows encoder_rows(const EncoderBatch& batch, bool unpad) {
  const Tensor& in = batch.input_ids;
  LINEA_CHECK_T(ShapeError, in.dim() == 2 && batch.attention_mask.shape() == in.shape(), "Encoder: input_ids ",
                in.desc(), " and attention_mask ", batch.attention_mask.desc(), " must both be [B, T]");
  LINEA_CHECK_T(ShapeError, !batch.token_type_ids.defined() || batch.token_type_ids.shape() == in.shape(),
                "Encoder: token_type_ids ", batch.token_type_ids.desc(), " must match input_ids ", in.desc());
  const int64_t B = in.size(0), T = in.size(1);
  const Unpadded u = unpad_metadata(batch.attention_mask);
  const std::vector<double> real = u.indices.to_vector();  // flat positions of real tokens, row-major
  const std::vector<double> cu = u.cu_seqlens.to_vector();
  const std::vector<double> all_ids = in.to_vector();
  const std::vector<double> all_types =
      batch.token_type_ids.defined() ? batch.token_type_ids.to_vector() : std::vector<double>(all_ids.size(), 0.0);
  EncoderRows r;
  r.batch = B;
  r.seq_len = T;
  r.packed = unpad;
  r.row_of.assign(size_t(B * T), -1);
  std::vector<int64_t> flat;  // the flat position of each row
  for (int64_t b = 0; b < B; ++b) {
    const int64_t first = int64_t(cu[size_t(b)]), len = int64_t(cu[size_t(b + 1)]) - first;
    r.lengths.push_back(len);
    if (unpad) continue;
    for (int64_t i = first; i < first + len; ++i)
      LINEA_CHECK_T(DataError, int64_t(real[size_t(i)]) == b * T + (i - first), "Encoder: attention_mask row ", b,
                    " has padding before a real token; the padded path expects each row's real tokens first (the "
                    "unpadded path takes any mask)");
  }
  if (unpad) {
    for (double p : real) flat.push_back(int64_t(p));
    for (size_t i = 0; i < flat.size(); ++i) r.row_of[size_t(flat[i])] = int64_t(i);
  } else {
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < r.lengths[size_t(b)]; ++t) r.row_of[size_t(b * T + t)] = b * T + t;
    for (int64_t p = 0; p < B * T; ++p) flat.push_back(p);
  }
  std::vector<double> ids, types;
  for (int64_t p : flat) {
    ids.push_back(all_ids[size_t(p)]);
    types.push_back(all_types[size_t(p)]);
  }
  r.ids = Tensor::from_vector(ids, {int64_t(ids.size())}, DType::i64);
  r.types = Tensor::from_vector(types, {int64_t(types.size())}, DType::i64);
  return r;
}

Tensor unpad_rows(const Tensor& x, const Unpadded& u) {
  LINEA_CHECK_T(ShapeError, x.dim() == 3, "unpad_rows: x ", x.desc(), " must be [B, T, C]");
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2);
  LINEA_CHECK_T(ShapeError, u.cu_seqlens.numel() == B + 1, "unpad_rows: x ", x.desc(), " has ", B,
                " rows but cu_seqlens has ", u.cu_seqlens.numel(), " entries");
  Tensor flat = x.reshape({B * T, C});
  return kernels::index_select(flat, 0, u.indices.to(x.device()));
}

Tensor pad_rows(const Tensor& x, const Unpadded& u, int64_t B, int64_t T) {
  LINEA_CHECK_T(ShapeError, x.dim() == 2 && x.size(0) == u.total_tokens, "pad_rows: x ", x.desc(), " must be [",
                u.total_tokens, ", C]");
  LINEA_CHECK_T(ShapeError, B >= 0 && T >= 0 && u.cu_seqlens.numel() == B + 1, "pad_rows: B ", B, " and T ", T,
                " do not match cu_seqlens of ", u.cu_seqlens.numel(), " entries");
  check_floating("pad_rows", x);
  Tensor base = Tensor::zeros({B * T, x.size(1)}, x.dtype(), x.device());
  return kernels::index_add(base, 0, u.indices.to(x.device()), x).view({B, T, x.size(1)});
}

}  // namespace linea
