// Reading cublasLtMatmulAlgoGetHeuristic's answer. "No algorithm for this GEMM" comes back
// as a failed call (CUBLAS_STATUS_NOT_SUPPORTED), as zero results, or as a result whose
// state is not success, depending on the case and version; all three must reach the user as
// the same clear message, while any other failure names its cuBLAS status.
#pragma once
#include <cublasLt.h>

#include <string>

namespace linea::cuda {

// Throws linea::Error unless the heuristic call returned a usable algorithm; `gemm`
// describes the product (operands, layouts, alignments) for the message.
void check_heuristic(cublasStatus_t call, int found, cublasStatus_t result_state, const std::string& gemm);

}  // namespace linea::cuda
