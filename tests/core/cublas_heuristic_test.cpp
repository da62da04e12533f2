// matmul's reading of cuBLASLt's algorithm heuristic, without a GPU: every way it says "no
// algorithm" gives the same message naming the GEMM, and other failures name their status.
#include <gtest/gtest.h>

#ifdef LINEA_WITH_CUDA
#include "core/cuda/cublas_heuristic.h"
#include "support/testing.h"

using namespace linea;
using namespace linea::testing;

TEST(CublasHeuristic, EveryNoAlgorithmAnswerGivesTheSameMessage) {
  const std::string gemm = "a f16[3, 5] on cuda:0 x f16[5, 7] on cuda:0 GEMM";
  const std::string want = "matmul: cuBLASLt has no algorithm for " + gemm;
  // The query fails, finds nothing, or returns a result that is not usable.
  expect_error([&] { cuda::check_heuristic(CUBLAS_STATUS_NOT_SUPPORTED, 0, CUBLAS_STATUS_SUCCESS, gemm); }, want);
  expect_error([&] { cuda::check_heuristic(CUBLAS_STATUS_SUCCESS, 0, CUBLAS_STATUS_SUCCESS, gemm); }, want);
  expect_error([&] { cuda::check_heuristic(CUBLAS_STATUS_SUCCESS, 1, CUBLAS_STATUS_NOT_SUPPORTED, gemm); }, want);
  cuda::check_heuristic(CUBLAS_STATUS_SUCCESS, 1, CUBLAS_STATUS_SUCCESS, gemm);
}

TEST(CublasHeuristic, OtherFailuresNameTheirStatus) {
  expect_error([] { cuda::check_heuristic(CUBLAS_STATUS_INVALID_VALUE, 0, CUBLAS_STATUS_SUCCESS, "g"); },
               "matmul: cuBLASLt's algorithm heuristic failed for g: ");
}
#endif
