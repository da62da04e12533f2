// Check macros for CUDA runtime and cuBLAS calls (file and line in the message), the
// stream every linea kernel runs on, and launch-size helpers shared by all .cu files.
#pragma once
#include <cublasLt.h>
#include <cuda_runtime.h>

#include "core/cuda/runtime.h"
#include "core/error.h"

#define LINEA_CUDA_CHECK(expr)                                                                \
  do {                                                                                        \
    const cudaError_t err_ = (expr);                                                          \
    if (err_ != cudaSuccess)                                                                  \
      throw ::linea::Error(::linea::cuda::error_message(                                      \
          err_, ::linea::str_cat(__FILE__, ":", __LINE__, ": CUDA error in ", #expr)));       \
  } while (0)

#define LINEA_CUBLAS_CHECK(expr)                                                                    \
  do {                                                                                              \
    cublasStatus_t st_ = (expr);                                                                    \
    if (st_ != CUBLAS_STATUS_SUCCESS)                                                               \
      throw ::linea::Error(::linea::str_cat(__FILE__, ":", __LINE__, ": cuBLAS error in ", #expr, \
                                            ": ", cublasLtGetStatusString(st_)));                   \
  } while (0)

// Checks the kernel just launched (and, under LINEA_CUDA_DEBUG=1, waits for it).
#define LINEA_CUDA_LAUNCH_CHECK() ::linea::cuda::check_launch(__FILE__, __LINE__)

namespace linea::cuda {

// linea runs every kernel of a device on one stream (the legacy default stream), so the
// caching allocator may reuse a freed block immediately: later work is ordered after it.
inline cudaStream_t stream() { return 0; }

constexpr int kBlock = 256;
inline unsigned grid_for(long long n, int block = kBlock) {
  long long g = (n + block - 1) / block;
  return unsigned(g < 1 ? 1 : (g > 65535LL * 32 ? 65535LL * 32 : g));
}

}  // namespace linea::cuda
