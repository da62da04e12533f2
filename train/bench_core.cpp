#include "train/bench_core.h"

#include <cstdio>

#include "core/error.h"

namespace linea {

int run_bench_command(const std::vector<std::string>& args) {
  LINEA_CHECK_T(ConfigError, !args.empty() && args[0] == "core", "bench: unknown suite '",
                args.empty() ? "" : args[0], "', expected: core");
  std::printf("bench core: pending kernels\n");
  return 0;
}

}  // namespace linea
