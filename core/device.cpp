#include "core/device.h"

#include "core/cuda_probe.h"
#include "core/error.h"

namespace linea {

std::string Device::str() const {
  if (is_meta()) return "meta";
  return is_cpu() ? "cpu" : "cuda:" + std::to_string(index);
}

Device device_from_name(const std::string& name) {
  if (name == "cpu") return Device::cpu();
  if (name == "cuda") return Device::cuda(0);
  if (name.rfind("cuda:", 0) == 0) {
    try {
      size_t used = 0;
      int i = std::stoi(name.substr(5), &used);
      if (used == name.size() - 5 && i >= 0) return Device::cuda(i);
    } catch (const std::exception&) {
    }
  }
  throw ConfigError(str_cat("unknown device '", name, "', expected cpu, cuda or cuda:N"));
}

bool cuda_built() {
#ifdef LINEA_WITH_CUDA
  return true;
#else
  return false;
#endif
}

int cuda_device_count() { return cuda_probe().devices; }

}  // namespace linea
