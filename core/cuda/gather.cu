// CUDA gather and scatter_add over an IndexPlan: one thread per (row, j), rows fastest so
// neighbouring threads touch neighbouring memory. scatter_add uses atomicAdd into the
// f32 (f64) accumulator, so its summation order (not its set of terms) is unspecified.
// Out-of-range indices are skipped and reported through a small device buffer that the
// host reads after the launch (one synchronizing copy per call).
#include "core/cuda/check.cuh"
#include "core/kernels/gather.h"

namespace linea::cuda {
namespace {

__device__ void record(unsigned long long* fault, int64_t value) {
  if (atomicCAS(&fault[0], 0ull, 1ull) == 0ull) fault[1] = (unsigned long long)value;
}

// Element e = (row r, position j) of the plan: o holds the row's offsets into (index,
// out/src, x/acc) and v the index value; false (fault recorded) when v is out of range.
template <class I>
__device__ __forceinline__ bool locate(const I* index, const IndexPlan& p, int64_t e, int64_t (&o)[3], int64_t& j,
                                       int64_t& v, unsigned long long* fault) {
  const int64_t r = e % p.row_count;
  j = e / p.row_count;
  p.rows.offsets(r, o);
  v = int64_t(index[o[0] + j * p.step[0]]);
  if (v >= 0 && v < p.indexed_size) return true;
  record(fault, v);
  return false;
}

#define LINEA_PLAN_LOOP(e, p) \
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < (p).row_count * (p).count; e += int64_t(gridDim.x) * blockDim.x)

template <class I, class T>
__global__ void gather_kernel(const I* index, T* out, const T* x, IndexPlan p, unsigned long long* fault) {
  LINEA_PLAN_LOOP(e, p) {
    int64_t o[3], j, v;
    if (locate(index, p, e, o, j, v, fault)) out[o[1] + j * p.step[1]] = x[o[2] + v * p.indexed_stride];
  }
}

template <class I, class T>
__global__ void scatter_add_kernel(const I* index, const T* src, acc_t<T>* acc, IndexPlan p,
                                   unsigned long long* fault) {
  using A = acc_t<T>;
  LINEA_PLAN_LOOP(e, p) {
    int64_t o[3], j, v;
    if (locate(index, p, e, o, j, v, fault))
      atomicAdd(&acc[o[2] + v * p.indexed_stride], load_as<A, T>(src[o[1] + j * p.step[1]]));
  }
}

// Runs launch(fault_ptr) and copies the fault words back.
template <class Launch>
void with_fault_buffer(const Tensor& like, IndexFault& fault, Launch launch) {
  Tensor buf = Tensor::zeros({2}, DType::i64, like.device());
  launch(static_cast<unsigned long long*>(buf.data_ptr()));
  LINEA_CUDA_LAUNCH_CHECK();
  std::vector<double> host = buf.to_vector();
  if (host[0] != 0.0) {
    fault.found = true;
    fault.value = int64_t(host[1]);
  }
}

}  // namespace

void gather(const Tensor& index, const Tensor& out, const Tensor& x, const IndexPlan& p, IndexFault& fault) {
  const int64_t n = p.row_count * p.count;
  with_fault_buffer(x, fault, [&](unsigned long long* f) {
    dispatch_index(index.dtype(), "gather", [&](auto itag) {
      using I = typename decltype(itag)::type;
      dispatch_floating(x.dtype(), "gather", [&](auto tag) {
        using T = typename decltype(tag)::type;
        gather_kernel<I, T><<<grid_for(n), kBlock, 0, stream()>>>(static_cast<const I*>(index.data_ptr()),
                                                                  static_cast<T*>(out.data_ptr()),
                                                                  static_cast<const T*>(x.data_ptr()), p, f);
      });
    });
  });
}

void scatter_add(const Tensor& index, const Tensor& src, const Tensor& acc, const IndexPlan& p, IndexFault& fault) {
  const int64_t n = p.row_count * p.count;
  with_fault_buffer(src, fault, [&](unsigned long long* f) {
    dispatch_index(index.dtype(), "scatter_add", [&](auto itag) {
      using I = typename decltype(itag)::type;
      dispatch_floating(src.dtype(), "scatter_add", [&](auto tag) {
        using T = typename decltype(tag)::type;
        scatter_add_kernel<I, T><<<grid_for(n), kBlock, 0, stream()>>>(
            static_cast<const I*>(index.data_ptr()), static_cast<const T*>(src.data_ptr()),
            static_cast<acc_t<T>*>(acc.data_ptr()), p, f);
      });
    });
  });
}

}  // namespace linea::cuda
