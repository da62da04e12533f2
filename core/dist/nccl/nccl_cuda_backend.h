// The real dist::NcclBackend: one NCCL communicator (loaded with dlopen, nccl_library.h)
// and a CUDA stream of its own on one GPU.
#pragma once
#include <memory>

#include "core/dist/nccl_backend.h"

namespace linea::dist {

// `device` must be a usable CUDA device; throws linea::Error otherwise or when NCCL cannot
// be loaded.
std::unique_ptr<NcclBackend> make_nccl_cuda_backend(Device device);

}  // namespace linea::dist
