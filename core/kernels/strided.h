// Maps a linear index over an output shape to element offsets in N operands with
// arbitrary strides (0 for broadcast dims). Shared by CPU and CUDA kernels so both walk
// non-contiguous and broadcast tensors the same way.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "core/half.h"
#include "core/tensor.h"

namespace linea {

constexpr int kMaxDims = 8;

template <int N>
struct StridedOffsets {
  int ndim = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[N][kMaxDims] = {};

  // True when every operand is dense in the same order: offset == linear index.
  bool all_contiguous = false;

  LINEA_HD void offsets(int64_t linear, int64_t (&out)[N]) const {
    for (int k = 0; k < N; ++k) out[k] = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      int64_t i = linear % sizes[d];
      linear /= sizes[d];
      for (int k = 0; k < N; ++k) out[k] += i * strides[k][d];
    }
  }
};

// Builds the mapping for `shape` with each operand's strides (already broadcast to
// `shape`), merging dims that are contiguous in every operand.
template <int N>
StridedOffsets<N> make_strided_offsets(const Shape& shape, const std::array<Shape, N>& strides, const char* op) {
  StridedOffsets<N> r;
  std::vector<int> dims;
  for (int d = 0; d < int(shape.size()); ++d)
    if (shape[d] != 1) dims.push_back(d);
  // Merge dim d into the previous kept dim when, for all operands, stride[prev] == stride[d] * size[d].
  std::vector<int64_t> sizes;
  std::vector<std::array<int64_t, N>> st;
  for (int d : dims) {
    if (!sizes.empty()) {
      bool mergeable = true;
      for (int k = 0; k < N; ++k)
        if (st.back()[k] != strides[k][d] * shape[d]) mergeable = false;
      if (mergeable) {
        sizes.back() *= shape[d];
        for (int k = 0; k < N; ++k) st.back()[k] = strides[k][d];
        continue;
      }
    }
    sizes.push_back(shape[d]);
    std::array<int64_t, N> s;
    for (int k = 0; k < N; ++k) s[k] = strides[k][d];
    st.push_back(s);
  }
  LINEA_CHECK(sizes.size() <= size_t(kMaxDims), op, ": tensors with more than ", kMaxDims,
              " non-mergeable dims are not supported (shape ", shape_str(shape), ")");
  r.ndim = int(sizes.size());
  r.all_contiguous = true;
  for (int d = 0; d < r.ndim; ++d) {
    r.sizes[d] = sizes[d];
    for (int k = 0; k < N; ++k) r.strides[k][d] = st[d][k];
  }
  if (r.ndim > 1) r.all_contiguous = false;
  if (r.ndim == 1)
    for (int k = 0; k < N; ++k)
      if (r.strides[k][0] != 1) r.all_contiguous = false;
  return r;
}

// Strides of `t` seen through a broadcast to `shape` (0 on broadcast dims).
Shape broadcast_strides(const Tensor& t, const Shape& shape);

}  // namespace linea
