// Unpadding: host-side scan of the attention mask, row moves with the gather kernels.
#include "layers/unpad.h"

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
