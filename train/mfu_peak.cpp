#include "train/mfu_peak.h"

#include <omp.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "train/gemm_timing.h"
#include "train/run_dir.h"

namespace fs = std::filesystem;

namespace linea {
namespace {

// Timings of the square GEMM at start-up (~0.3 s each on 2 cores): three without a cached
// figure, one to refresh it otherwise.
constexpr int kTrials = 3, kTrialsWithCache = 1;

std::string cache_file() {
  const char* dir = std::getenv("LINEA_CACHE_DIR");
  const char* home = std::getenv("HOME");
  const std::string base = dir && *dir ? dir : str_cat(home && *home ? home : "/tmp", "/.cache/linea");
  return base + "/gemm_peak.json";
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown cpu";
}

std::string host_name() {
  char buf[256] = {};
  return ::gethostname(buf, sizeof buf - 1) == 0 ? buf : "unknown host";
}

// The whole cache; an unreadable or malformed file counts as empty (it is only a cache).
nlohmann::json read_cache() {
  std::ifstream in(cache_file());
  if (!in) return nlohmann::json::object();
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();
}

}  // namespace

MfuPeak::MfuPeak(Device device, DType dtype) {
  if (const char* nominal = std::getenv("LINEA_PEAK_TFLOPS"); nominal && *nominal) {
    char* end = nullptr;
    const double t = std::strtod(nominal, &end);
    LINEA_CHECK_T(ConfigError, *end == '\0' && t > 0, "LINEA_PEAK_TFLOPS: '", nominal,
                  "', expected a number of TFLOP/s > 0");
    flops_ = t * 1e12;
    source_ = "LINEA_PEAK_TFLOPS";
    return;
  }
  key_ = str_cat(host_name(), " | ", cpu_model(), " | ", device.str(), " | ", dtype_name(dtype), " | ",
                 omp_get_max_threads(), " threads");
  const nlohmann::json cache = read_cache();
  const double cached = cache.contains(key_) && cache[key_].is_number() ? cache[key_].get<double>() : 0.0;
  double measured = 0;
  for (int i = 0; i < (cached > 0 ? kTrialsWithCache : kTrials); ++i)
    measured = std::max(measured, gemm_peak_flops(device, dtype));
  flops_ = std::max(measured, cached);
  source_ = cached > measured ? "cached best" : "measured";
  if (measured > cached) store();
}

bool MfuPeak::raise(double achieved_flops) {
  if (key_.empty() || achieved_flops <= flops_) return false;
  flops_ = achieved_flops;
  store();
  return true;
}

void MfuPeak::store() const {
  // Best effort: a read-only home must not stop training.
  try {
    nlohmann::json cache = read_cache();
    cache[key_] = flops_;
    fs::create_directories(fs::path(cache_file()).parent_path());
    write_file_atomically(cache_file(), cache.dump(2) + "\n");
  } catch (const std::exception&) {
  }
}

}  // namespace linea
