// make_communicator: picks and builds the backend for this process (see communicator.h).
#include "core/dist/communicator.h"
#include "core/dist/single_rank_communicator.h"
#ifdef LINEA_WITH_MPI
#include "core/dist/mpi/mpi_communicator.h"
#endif
#ifdef LINEA_WITH_NCCL
#include "core/dist/nccl/nccl_cuda_backend.h"
#include "core/dist/nccl_communicator.h"
#endif

namespace linea {

namespace {

std::unique_ptr<Communicator> make_mpi(CommOptions options) {
#ifdef LINEA_WITH_MPI
  return std::make_unique<MpiCommunicator>(options);
#else
  (void)options;
  throw Error(str_cat("the MPI communicator was requested (", launcher_world_size(),
                      " rank(s) launched) but linea was built without MPI, expected a build with "
                      "libopenmpi-dev installed and -DLINEA_MPI=AUTO or ON"));
#endif
}

std::unique_ptr<Communicator> make_nccl(Device device, CommOptions options) {
  LINEA_CHECK_T(Error, device.is_cuda(), "the nccl backend needs a CUDA device, got ", device.str(),
                "; expected cuda:N, or the mpi backend for CPU training");
#ifdef LINEA_WITH_NCCL
  const int world = launcher_world_size();
  std::unique_ptr<Communicator> bootstrap =
      world > 1 ? make_mpi(options) : std::make_unique<SingleRankCommunicator>(Device::cpu(), options);
  Device mine = device;
  if (bootstrap->size() > 1) {
    // One GPU per rank: the ranks of a host take its GPUs in local-rank order.
    const int gpus = cuda_device_count();
    LINEA_CHECK_T(Error, bootstrap->local_rank() < gpus, "rank ", bootstrap->rank(), " is local rank ",
                  bootstrap->local_rank(), " of ", bootstrap->local_size(), " on its host, which has ", gpus,
                  " visible CUDA device(s); expected at most one rank per GPU");
    mine = Device::cuda(bootstrap->local_rank());
  }
  return std::make_unique<NcclCommunicator>(std::move(bootstrap), dist::make_nccl_cuda_backend(mine), options);
#else
  (void)options;
  throw Error(str_cat("the nccl backend was requested for ", device.str(),
                      " but linea was built without it, expected a build with the CUDA toolkit and nccl.h "
                      "(-DLINEA_CUDA=AUTO or ON)"));
#endif
}

}  // namespace

std::unique_ptr<Communicator> make_communicator(CommBackend backend, Device device, CommOptions options) {
  switch (backend) {
    case CommBackend::mpi:
      LINEA_CHECK_T(Error, device.is_cpu(), "the mpi backend carries CPU tensors, got device ", device.str(),
                    "; expected cpu, or the nccl backend for CUDA");
      return make_mpi(options);
    case CommBackend::nccl: return make_nccl(device, options);
    case CommBackend::automatic:
      // One process needs no MPI at all (no launcher, or mpirun -np 1).
      if (launcher_world_size() == 1) return std::make_unique<SingleRankCommunicator>(device, options);
      return device.is_cuda() ? make_nccl(device, options) : make_mpi(options);
  }
  throw InternalError(str_cat("make_communicator: backend ", int(backend), " is unknown"));
}

}  // namespace linea
