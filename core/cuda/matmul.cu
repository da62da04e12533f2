// CUDA GEMM for kernels::matmul through cuBLASLt: strided-batched, fp32 compute for
// f32/bf16/f16 (fp64 for f64), one cached handle per device, workspace from the allocator.
#include <cstdint>
#include <memory>
#include <mutex>
#include <type_traits>
#include <vector>

#include "core/allocator.h"
#include "core/cuda/check.cuh"
#include "core/cuda/cublas_heuristic.h"
#include "core/kernels/matmul.h"

namespace linea::cuda {
namespace {

// cuBLAS recommends 32 MiB of workspace on Hopper (4 MiB suffices before it).
constexpr size_t kWorkspaceBytes = size_t(32) << 20;

cublasLtHandle_t lt_handle(int device) {
  static std::mutex mu;
  static auto* handles = new std::vector<cublasLtHandle_t>();  // lives for the process
  std::lock_guard<std::mutex> lock(mu);
  if (handles->size() <= size_t(device)) handles->resize(device + 1, nullptr);
  cublasLtHandle_t& h = (*handles)[device];
  if (!h) LINEA_CUBLAS_CHECK(cublasLtCreate(&h));
  return h;
}

using LayoutPtr = std::unique_ptr<std::remove_pointer_t<cublasLtMatrixLayout_t>,
                                  decltype(&cublasLtMatrixLayoutDestroy)>;
using MatmulDescPtr = std::unique_ptr<std::remove_pointer_t<cublasLtMatmulDesc_t>,
                                      decltype(&cublasLtMatmulDescDestroy)>;
using PreferencePtr = std::unique_ptr<std::remove_pointer_t<cublasLtMatmulPreference_t>,
                                      decltype(&cublasLtMatmulPreferenceDestroy)>;

// A column-major cuBLAS matrix: op(stored [rows, cols] with leading dim ld).
struct Operand {
  cublasOperation_t op;
  uint64_t rows, cols;
  int64_t ld;
};

// cuBLAS is column-major, so the row-major product C = A B is computed as C^T = B^T A^T.
// This describes x^T for x [Bx, R, C] (unit stride in one of its last two dims): the
// memory of a row-major x is a column-major x^T as stored; a column-major x is stored
// as itself and transposed by the op.
Operand transposed_operand(const Tensor& x) {
  const int64_t R = x.size(1), C = x.size(2);
  if (x.stride(2) == 1) return {CUBLAS_OP_N, uint64_t(C), uint64_t(R), x.stride(1)};
  return {CUBLAS_OP_T, uint64_t(R), uint64_t(C), x.stride(2)};
}

LayoutPtr make_layout(cudaDataType_t type, uint64_t rows, uint64_t cols, int64_t ld, int32_t batch,
                      int64_t batch_stride) {
  cublasLtMatrixLayout_t raw = nullptr;
  LINEA_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&raw, type, rows, cols, ld));
  LayoutPtr layout(raw, &cublasLtMatrixLayoutDestroy);
  if (batch > 1) {
    LINEA_CUBLAS_CHECK(
        cublasLtMatrixLayoutSetAttribute(raw, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch, sizeof(batch)));
    LINEA_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(raw, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
                                                        &batch_stride, sizeof(batch_stride)));
  }
  return layout;
}

// Largest power of two (<= 256) dividing the address and the batch stride in bytes, so
// the heuristic only offers kernels whose vector loads every batch entry can satisfy.
uint32_t alignment_bytes(const void* p, int64_t batch_stride_bytes) {
  const uintptr_t v = reinterpret_cast<uintptr_t>(p) | uintptr_t(batch_stride_bytes);
  uint32_t a = 256;
  while (a > 1 && v % a != 0) a /= 2;
  return a;
}

cudaDataType_t cuda_type(DType t) {
  switch (t) {
    case DType::f32: return CUDA_R_32F;
    case DType::bf16: return CUDA_R_16BF;
    case DType::f16: return CUDA_R_16F;
    case DType::f64: return CUDA_R_64F;
    default: break;
  }
  throw ShapeError(str_cat("matmul: dtype ", dtype_name(t), " is not supported on CUDA"));
}

int64_t batch_stride(const Tensor& x) { return x.size(0) == 1 ? 0 : x.stride(0); }

// Returns a workspace block to the caching allocator when the call ends; the stream
// orders any later use of the block after this GEMM.
struct Workspace {
  explicit Workspace(Device d) : alloc(allocator_for(d)), ptr(alloc.allocate(kWorkspaceBytes)) {}
  ~Workspace() { alloc.deallocate(ptr); }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  CachingAllocator& alloc;
  void* ptr;
};

}  // namespace

void check_heuristic(cublasStatus_t call, int found, cublasStatus_t result_state, const std::string& gemm) {
  if (call != CUBLAS_STATUS_SUCCESS && call != CUBLAS_STATUS_NOT_SUPPORTED)
    throw Error(str_cat("matmul: cuBLASLt's algorithm heuristic failed for ", gemm, ": ",
                        cublasLtGetStatusString(call)));
  LINEA_CHECK_T(Error, call == CUBLAS_STATUS_SUCCESS && found > 0 && result_state == CUBLAS_STATUS_SUCCESS,
                "matmul: cuBLASLt has no algorithm for ", gemm,
                "; expected operands whose layout and alignment cuBLASLt supports");
}

// a [Ba, M, K], b [Bb, K, N], c [B, M, N] (contiguous); see core/kernels/matmul.h.
void matmul(const Tensor& a, const Tensor& b, const Tensor& c) {
  const int64_t B = c.size(0), M = c.size(1), N = c.size(2);
  LINEA_CHECK(B <= INT32_MAX, "matmul: batch count ", B, " exceeds cuBLASLt's limit of ", INT32_MAX);
  const int device = c.device().index;
  LINEA_CUDA_CHECK(cudaSetDevice(device));
  const cudaDataType_t type = cuda_type(c.dtype());
  const bool f64 = c.dtype() == DType::f64;
  const size_t elem = dtype_size(c.dtype());

  // cuBLAS computes D [N, M] (column-major, = C row-major) = op(X) op(Y), X from b, Y from a.
  const Operand x = transposed_operand(b), y = transposed_operand(a);
  const int32_t batch = int32_t(B);
  LayoutPtr x_layout = make_layout(type, x.rows, x.cols, x.ld, batch, batch_stride(b));
  LayoutPtr y_layout = make_layout(type, y.rows, y.cols, y.ld, batch, batch_stride(a));
  LayoutPtr c_layout = make_layout(type, uint64_t(N), uint64_t(M), N, batch, M * N);

  cublasLtMatmulDesc_t raw_desc = nullptr;
  LINEA_CUBLAS_CHECK(cublasLtMatmulDescCreate(&raw_desc, f64 ? CUBLAS_COMPUTE_64F : CUBLAS_COMPUTE_32F,
                                              f64 ? CUDA_R_64F : CUDA_R_32F));
  MatmulDescPtr desc(raw_desc, &cublasLtMatmulDescDestroy);
  LINEA_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(raw_desc, CUBLASLT_MATMUL_DESC_TRANSA, &x.op, sizeof(x.op)));
  LINEA_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(raw_desc, CUBLASLT_MATMUL_DESC_TRANSB, &y.op, sizeof(y.op)));

  cublasLtMatmulPreference_t raw_pref = nullptr;
  LINEA_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&raw_pref));
  PreferencePtr pref(raw_pref, &cublasLtMatmulPreferenceDestroy);
  const uint64_t ws_bytes = kWorkspaceBytes;
  LINEA_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(raw_pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                          &ws_bytes, sizeof(ws_bytes)));
  const uint32_t align_x = alignment_bytes(b.data_ptr(), batch_stride(b) * int64_t(elem));
  const uint32_t align_y = alignment_bytes(a.data_ptr(), batch_stride(a) * int64_t(elem));
  const uint32_t align_c = alignment_bytes(c.data_ptr(), M * N * int64_t(elem));
  LINEA_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(raw_pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES,
                                                          &align_x, sizeof(align_x)));
  LINEA_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(raw_pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                                                          &align_y, sizeof(align_y)));
  LINEA_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(raw_pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES,
                                                          &align_c, sizeof(align_c)));
  LINEA_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(raw_pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES,
                                                          &align_c, sizeof(align_c)));

  cublasLtHandle_t handle = lt_handle(device);
  cublasLtMatmulHeuristicResult_t heuristic = {};
  int found = 0;
  const cublasStatus_t status = cublasLtMatmulAlgoGetHeuristic(handle, raw_desc, x_layout.get(), y_layout.get(),
                                                               c_layout.get(), c_layout.get(), raw_pref, 1,
                                                               &heuristic, &found);
  check_heuristic(status, found, heuristic.state,
                  str_cat("a ", a.desc(), " x ", b.desc(), " GEMM (operand alignments ", align_y, ", ", align_x,
                          " and ", align_c, " bytes)"));

  const float alpha32 = 1.0f, beta32 = 0.0f;
  const double alpha64 = 1.0, beta64 = 0.0;
  const void* alpha = f64 ? static_cast<const void*>(&alpha64) : static_cast<const void*>(&alpha32);
  const void* beta = f64 ? static_cast<const void*>(&beta64) : static_cast<const void*>(&beta32);
  Workspace ws(c.device());
  LINEA_CUBLAS_CHECK(cublasLtMatmul(handle, raw_desc, alpha, b.data_ptr(), x_layout.get(), a.data_ptr(),
                                    y_layout.get(), beta, c.data_ptr(), c_layout.get(), c.data_ptr(), c_layout.get(),
                                    &heuristic.algo, ws.ptr, kWorkspaceBytes, stream()));
  LINEA_CUDA_LAUNCH_CHECK();  // under LINEA_CUDA_DEBUG=1, a fault in the GEMM is reported here
}

}  // namespace linea::cuda
