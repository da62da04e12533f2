#include "core/dist/mpi/mpi_runtime.h"

#include <cstdlib>

namespace linea::dist {

namespace {

// MPI has no 16-bit float types: bf16 and f16 travel as 2-byte datatypes of their own
// (linea reduces them itself, in float; see ring_collective.cpp).
MPI_Datatype g_bf16 = MPI_DATATYPE_NULL;
MPI_Datatype g_f16 = MPI_DATATYPE_NULL;
bool g_owned = false;  // linea called MPI_Init, so linea calls MPI_Finalize

void finalize_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  MPI_Type_free(&g_bf16);
  MPI_Type_free(&g_f16);
  MPI_Finalize();
}

void create_half_types() {
  LINEA_MPI_CHECK(MPI_Type_contiguous(2, MPI_BYTE, &g_bf16));
  LINEA_MPI_CHECK(MPI_Type_commit(&g_bf16));
  LINEA_MPI_CHECK(MPI_Type_contiguous(2, MPI_BYTE, &g_f16));
  LINEA_MPI_CHECK(MPI_Type_commit(&g_f16));
}

}  // namespace

std::string mpi_error_string(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) return str_cat("MPI error code ", code);
  return std::string(text, size_t(len));
}

bool mpi_active() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
}

void ensure_mpi_initialized() {
  if (g_bf16 != MPI_DATATYPE_NULL) return;
  int initialized = 0, finalized = 0;
  LINEA_MPI_CHECK(MPI_Initialized(&initialized));
  LINEA_MPI_CHECK(MPI_Finalized(&finalized));
  LINEA_CHECK_T(Error, !finalized, "MPI was already finalized in this process, expected MPI to be usable");
  if (!initialized) {
    int provided = 0;
    LINEA_MPI_CHECK(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided));
    g_owned = true;
    LINEA_CHECK_T(Error, provided >= MPI_THREAD_FUNNELED, "MPI_Init_thread provided thread level ", provided,
                  ", expected at least MPI_THREAD_FUNNELED (", MPI_THREAD_FUNNELED, ")");
  }
  // Errors on MPI_COMM_WORLD come back as codes (and so as linea::Error) instead of
  // aborting the job without a message.
  LINEA_MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  create_half_types();
  if (g_owned) std::atexit(finalize_at_exit);
}

MPI_Datatype mpi_datatype(DType dtype) {
  switch (dtype) {
    case DType::f32: return MPI_FLOAT;
    case DType::f64: return MPI_DOUBLE;
    case DType::bf16: return g_bf16;
    case DType::f16: return g_f16;
    case DType::i32: return MPI_INT32_T;
    case DType::i64: return MPI_INT64_T;
    case DType::u8: return MPI_UINT8_T;
  }
  throw ShapeError(str_cat("MPI: dtype ", dtype_name(dtype), " has no MPI datatype"));
}

void throw_timeout(const std::string& what, double timeout_s, int rank, int size) {
  throw Error(str_cat("MPI ", what, " did not complete within ", timeout_s, " s on rank ", rank, " of ", size,
                      ", expected every rank to reach the same collective; a peer rank has likely failed or is "
                      "stuck (raise the timeout if it is only slow)"));
}

}  // namespace linea::dist
