#include "core/error.h"

namespace linea {

void throw_internal(const char* file, int line, const char* cond, const std::string& msg) {
  throw InternalError(str_cat(file, ":", line, ": internal error: assertion `", cond, "` failed",
                              msg.empty() ? "" : ": ", msg));
}

}  // namespace linea
