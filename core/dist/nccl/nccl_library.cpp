#include "core/dist/nccl/nccl_library.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

namespace linea::dist {

namespace {

template <class Fn>
void resolve(void* handle, const char* symbol, const std::string& path, Fn& slot) {
  void* p = dlsym(handle, symbol);
  LINEA_CHECK_T(Error, p != nullptr, "NCCL: ", path, " lacks ", symbol, ", expected NCCL 2.10 or newer");
  slot = reinterpret_cast<Fn>(p);
}

NcclLibrary load() {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("LINEA_NCCL_LIBRARY"); env != nullptr && *env != '\0') candidates.push_back(env);
  candidates.push_back("libnccl.so.2");
#ifdef LINEA_NCCL_FALLBACK_DIR
  candidates.push_back(std::string(LINEA_NCCL_FALLBACK_DIR) + "/libnccl.so.2");
#endif
  std::string tried;
  for (const std::string& path : candidates) {
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (handle == nullptr) {
      const char* why = dlerror();
      tried += str_cat("\n  ", path, ": ", why != nullptr ? why : "not found");
      continue;
    }
    NcclLibrary lib;
    resolve(handle, "ncclGetUniqueId", path, lib.get_unique_id);
    resolve(handle, "ncclCommInitRank", path, lib.comm_init_rank);
    resolve(handle, "ncclCommDestroy", path, lib.comm_destroy);
    resolve(handle, "ncclCommAbort", path, lib.comm_abort);
    resolve(handle, "ncclCommGetAsyncError", path, lib.comm_get_async_error);
    resolve(handle, "ncclGetErrorString", path, lib.get_error_string);
    resolve(handle, "ncclAllReduce", path, lib.all_reduce);
    resolve(handle, "ncclBroadcast", path, lib.broadcast);
    resolve(handle, "ncclAllGather", path, lib.all_gather);
    resolve(handle, "ncclReduceScatter", path, lib.reduce_scatter);
    return lib;  // the handle stays open for the life of the process
  }
  throw Error(str_cat("NCCL: could not load libnccl.so.2; tried:", tried,
                      "\nexpected NCCL installed (CUDA toolkit lib64, or the nvidia-nccl Python package) on "
                      "LD_LIBRARY_PATH, or LINEA_NCCL_LIBRARY=/path/to/libnccl.so.2"));
}

}  // namespace

const NcclLibrary& nccl_library() {
  static std::once_flag once;
  static NcclLibrary lib;
  static std::string failure;
  std::call_once(once, [] {
    try {
      lib = load();
    } catch (const Error& e) {
      failure = e.what();
    }
  });
  if (!failure.empty()) throw Error(failure);
  return lib;
}

}  // namespace linea::dist
