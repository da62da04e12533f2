// Picks the CPU or CUDA implementation of a kernel from a tensor's device. Every
// kernel family has linea::cpu::NAME and linea::cuda::NAME with the same signature.
#pragma once
#include "core/device.h"
#include "core/error.h"

#ifdef LINEA_WITH_CUDA
#define LINEA_DISPATCH_DEVICE(device, name, ...)  \
  do {                                            \
    if ((device).is_cpu()) {                      \
      ::linea::cpu::name(__VA_ARGS__);            \
    } else {                                      \
      ::linea::cuda::name(__VA_ARGS__);           \
    }                                             \
  } while (0)
#else
#define LINEA_DISPATCH_DEVICE(device, name, ...)                                                   \
  do {                                                                                             \
    if ((device).is_cpu()) {                                                                       \
      ::linea::cpu::name(__VA_ARGS__);                                                             \
    } else {                                                                                       \
      throw ::linea::Error(::linea::str_cat(#name, ": tensor on ", (device).str(),                 \
                                            " but linea was built without CUDA (LINEA_CUDA=ON)")); \
    }                                                                                              \
  } while (0)
#endif
