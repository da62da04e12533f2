// NCCL loaded at run time (dlopen) rather than linked: binaries then start, and every CPU
// path works, on machines without NCCL; only building an NCCL communicator needs it. Also
// the check macro every NCCL call goes through.
#pragma once
#include <nccl.h>

#include "core/error.h"

namespace linea::dist {

// The NCCL entry points linea calls, typed from nccl.h.
struct NcclLibrary {
  decltype(&ncclGetUniqueId) get_unique_id = nullptr;
  decltype(&ncclCommInitRank) comm_init_rank = nullptr;
  decltype(&ncclCommDestroy) comm_destroy = nullptr;
  decltype(&ncclCommAbort) comm_abort = nullptr;
  decltype(&ncclCommGetAsyncError) comm_get_async_error = nullptr;
  decltype(&ncclGetErrorString) get_error_string = nullptr;
  decltype(&ncclAllReduce) all_reduce = nullptr;
  decltype(&ncclBroadcast) broadcast = nullptr;
  decltype(&ncclAllGather) all_gather = nullptr;
  decltype(&ncclReduceScatter) reduce_scatter = nullptr;
};

// Loads libnccl.so.2 on first use: $LINEA_NCCL_LIBRARY when set, else the loader's search
// path (LD_LIBRARY_PATH, rpath), else the CUDA toolkit linea was built against. Throws
// linea::Error naming every place tried when none has it.
const NcclLibrary& nccl_library();

}  // namespace linea::dist

#define LINEA_NCCL_CHECK(expr)                                                                          \
  do {                                                                                                  \
    const ncclResult_t nccl_rc_ = (expr);                                                               \
    if (nccl_rc_ != ncclSuccess)                                                                        \
      throw ::linea::Error(::linea::str_cat(__FILE__, ":", __LINE__, ": NCCL error in ", #expr, ": ",  \
                                            ::linea::dist::nccl_library().get_error_string(nccl_rc_))); \
  } while (0)
