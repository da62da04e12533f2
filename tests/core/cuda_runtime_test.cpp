// Host-side error reporting of the CUDA backend, without a GPU: a sticky fault reads as a
// lost context (with the debug switch to find its kernel), never as out-of-memory.
#include <gtest/gtest.h>

#ifdef LINEA_WITH_CUDA
#include "core/cuda/runtime.h"

using namespace linea;

namespace {
// cudaError_t values: cudaErrorMemoryAllocation, cudaErrorIllegalAddress, cudaErrorLaunchFailure.
constexpr int kMemoryAllocation = 2, kIllegalAddress = 700, kLaunchFailure = 719;
}  // namespace

TEST(CudaRuntime, StickyFaultsSayTheContextIsLostAndHowToFindTheKernel) {
  for (int error : {kIllegalAddress, kLaunchFailure}) {
    const std::string m = cuda::error_message(error, "cudaMalloc of 512 bytes on cuda:0");
    EXPECT_EQ(m.rfind("cudaMalloc of 512 bytes on cuda:0: ", 0), 0u) << m;
    EXPECT_NE(m.find("the CUDA context is lost (a sticky error"), std::string::npos) << m;
    EXPECT_NE(m.find("LINEA_CUDA_DEBUG=1"), std::string::npos) << m;
    EXPECT_EQ(m.find("out of memory"), std::string::npos) << m;
  }
  EXPECT_NE(cuda::error_message(kIllegalAddress, "x").find("cudaErrorIllegalAddress"), std::string::npos);
}

TEST(CudaRuntime, OrdinaryErrorsAreReportedAsThemselves) {
  const std::string m = cuda::error_message(kMemoryAllocation, "f.cu:3: CUDA error in cudaMalloc(&p, n)");
  EXPECT_NE(m.find("out of memory (cudaErrorMemoryAllocation)"), std::string::npos) << m;
  EXPECT_EQ(m.find("sticky"), std::string::npos) << m;
}
#endif
