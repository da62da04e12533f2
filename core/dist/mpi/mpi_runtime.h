// The process-wide MPI state linea owns: MPI_Init_thread exactly once (MPI_Finalize at
// exit), the check macro every MPI call goes through, linea's dtypes as MPI datatypes
// (bf16/f16 get their own, which MPI lacks), and the polling wait with a timeout.
#pragma once
// Only the C API is used; Open MPI and MPICH otherwise pull in the deprecated C++ bindings.
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include <chrono>
#include <string>

#include "core/dist/communicator.h"

namespace linea::dist {

// "MPI_ERR_TRUNCATE: message truncated" style text for an MPI error code.
std::string mpi_error_string(int code);

// Initializes MPI (thread level FUNNELED: only the thread that called this talks to MPI)
// unless linea or the application already did; when linea initialized it, MPI_Finalize runs
// at process exit. Safe to call many times.
void ensure_mpi_initialized();
// True between linea's (or the application's) MPI_Init and MPI_Finalize.
bool mpi_active();

// The MPI datatype of one element of `dtype` (bf16 and f16: 2-byte types of linea's own).
MPI_Datatype mpi_datatype(DType dtype);

// Throws the error of a collective that did not complete within timeout_s.
[[noreturn]] void throw_timeout(const std::string& what, double timeout_s, int rank, int size);

// Calls work.test() until it returns true: MPI moves messages only inside its calls, so a
// waiting rank keeps calling. After timeout_s, when a peer has evidently not joined,
// throws linea::Error naming describe() (called only then), the rank and the world size.
template <class Describe>
void wait_polling(CommWork& work, Describe&& describe, double timeout_s, int rank, int size) {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::chrono::duration<double>(timeout_s);
  for (unsigned polls = 1; !work.test(); ++polls)
    if (polls % 256 == 0 && clock::now() > deadline) throw_timeout(describe(), timeout_s, rank, size);
}

}  // namespace linea::dist

// Every MPI call goes through this: a failure throws linea::Error with file, line, the call
// and MPI's own description.
#define LINEA_MPI_CHECK(expr)                                                                           \
  do {                                                                                                  \
    const int mpi_rc_ = (expr);                                                                         \
    if (mpi_rc_ != MPI_SUCCESS)                                                                         \
      throw ::linea::Error(::linea::str_cat(__FILE__, ":", __LINE__, ": MPI error in ", #expr, ": ",   \
                                            ::linea::dist::mpi_error_string(mpi_rc_)));                 \
  } while (0)
