// Picks the CPU or CUDA implementation of a kernel from a tensor's device. Every
// kernel family has linea::cpu::NAME and linea::cuda::NAME with the same signature.
#pragma once
#include "core/device.h"
#include "core/error.h"

// Meta tensors (core/device.h) hold no data for a kernel to read or write.
#define LINEA_REFUSE_META(device, name)                                                                   \
  LINEA_CHECK(!(device).is_meta(), #name, ": tensors on the meta device have a shape but no data, expected " \
              "tensors on cpu or cuda")

#ifdef LINEA_WITH_CUDA
#define LINEA_DISPATCH_DEVICE(device, name, ...)  \
  do {                                            \
    LINEA_REFUSE_META(device, name);              \
    if ((device).is_cpu()) {                      \
      ::linea::cpu::name(__VA_ARGS__);            \
    } else {                                      \
      ::linea::cuda::name(__VA_ARGS__);           \
    }                                             \
  } while (0)
#else
#define LINEA_DISPATCH_DEVICE(device, name, ...)                                                   \
  do {                                                                                             \
    LINEA_REFUSE_META(device, name);                                                               \
    if ((device).is_cpu()) {                                                                       \
      ::linea::cpu::name(__VA_ARGS__);                                                             \
    } else {                                                                                       \
      throw ::linea::Error(::linea::str_cat(#name, ": tensor on ", (device).str(),                 \
                                            " but linea was built without CUDA (LINEA_CUDA=ON)")); \
    }                                                                                              \
  } while (0)
#endif
