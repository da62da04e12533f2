// The `linea` command line. Subcommands are added as the runtime lands: today `bench`
// and `version`. User errors exit 2, internal errors exit 1, one line on stderr.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/error.h"
#include "train/bench_core.h"

namespace {
int usage() {
  std::fprintf(stderr,
               "usage: linea <command> [args]\n"
               "  bench core [--device cpu|cuda] [--quick]   kernel throughput: GEMM GFLOP/s, softmax/norm/CE GB/s\n"
               "  version                                    print the version and the backends built\n");
  return 2;
}
}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.empty()) return usage();
    if (args[0] == "version") {
      std::printf("linea %s (CUDA %s, %d GPU(s) visible)\n", LINEA_VERSION, linea::cuda_built() ? "built" : "not built",
                  linea::cuda_device_count());
      return 0;
    }
    if (args[0] == "bench") return linea::run_bench_command(std::vector<std::string>(args.begin() + 1, args.end()));
    std::fprintf(stderr, "error: linea: unknown command '%s', expected bench or version\n", args[0].c_str());
    return 2;
  } catch (const linea::InternalError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const linea::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: internal: %s\n", e.what());
    return 1;
  }
}
