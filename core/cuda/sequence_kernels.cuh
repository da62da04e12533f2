// Host-side helpers shared by the CUDA sequence-mixing kernels (attention, Lightning, KDA,
// short conv): the dtype dispatch they all take, typed data pointers, and the upload of a
// per-call table (segments, per-head decays) to the device.
#pragma once
#include <cstdint>
#include <vector>

#include "core/cuda/check.cuh"
#include "core/half.h"
#include "core/tensor.h"

namespace linea::cuda {

// fn(TypeTag<E>) for the dtypes the CUDA sequence kernels take (they compute in f32).
template <class Fn>
void dispatch_dtype(DType t, const char* op, Fn&& fn) {
  switch (t) {
    case DType::f32: return fn(TypeTag<float>{});
    case DType::bf16: return fn(TypeTag<bf16>{});
    case DType::f16: return fn(TypeTag<f16>{});
    default: break;
  }
  throw ShapeError(str_cat(op, ": CUDA kernels take f32, bf16 or f16, got ", dtype_name(t),
                           " (f64 runs on the CPU only)"));
}

template <class E>
const E* cptr(const Tensor& t) {
  return static_cast<const E*>(t.data_ptr());
}
template <class E>
E* mptr(const Tensor& t) {
  return static_cast<E*>(t.data_ptr());
}
// Null for an undefined tensor (an optional state).
template <class E>
const E* cptr_or_null(const Tensor& t) {
  return t.defined() ? cptr<E>(t) : nullptr;
}
template <class E>
E* mptr_or_null(const Tensor& t) {
  return t.defined() ? mptr<E>(t) : nullptr;
}

// The segment table on `device`: i64 [2, S], starts then lengths. The host staging tensor
// may go at once: the copy has left it before to() returns.
inline Tensor upload_segment_table(const int64_t* start, const int64_t* length, int64_t S, Device device) {
  Tensor host = Tensor::empty({2, S}, DType::i64);
  int64_t* p = static_cast<int64_t*>(host.data_ptr());
  for (int64_t s = 0; s < S; ++s) {
    p[s] = start[s];
    p[S + s] = length[s];
  }
  return host.to(device);
}

// n host doubles as an f64 tensor on `device`, or undefined when `values` is null.
inline Tensor upload_f64(const double* values, int64_t n, Device device) {
  if (!values) return Tensor();
  return Tensor::from_vector(std::vector<double>(values, values + n), {n}, DType::f64).to(device);
}

}  // namespace linea::cuda
