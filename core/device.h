// Where a tensor lives: the CPU or one CUDA device. CUDA is probed lazily so a
// CUDA-enabled binary runs on machines without a GPU or driver. `meta` tensors have a shape
// and a dtype but no data: a model built on it costs no memory, so a recipe's parameter
// count needs no machine that could hold it (`linea info RECIPE.yaml`); kernels refuse them.
#pragma once
#include <string>

namespace linea {

enum class DeviceType : uint8_t { cpu, cuda, meta };

struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;

  static Device cpu() { return {DeviceType::cpu, 0}; }
  static Device cuda(int i = 0) { return {DeviceType::cuda, i}; }
  static Device meta() { return {DeviceType::meta, 0}; }
  bool is_cpu() const { return type == DeviceType::cpu; }
  bool is_cuda() const { return type == DeviceType::cuda; }
  bool is_meta() const { return type == DeviceType::meta; }
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const;  // "cpu", "cuda:N" or "meta"
};

Device device_from_name(const std::string& name);  // "cpu", "cuda", "cuda:1"; throws ConfigError

// True when linea was built with CUDA.
bool cuda_built();
// Number of usable CUDA devices; 0 when not built with CUDA or no GPU/driver is present
// (core/cuda_probe.h says why).
int cuda_device_count();
inline bool cuda_available() { return cuda_device_count() > 0; }

}  // namespace linea
